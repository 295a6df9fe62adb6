"""Vietnamese text normalisation for matching: NFC, tone placement, folding, chat abbreviations, fillers.

Every string that is matched (the knowledge base at index time, the citizen's question at query time) goes
through `normalize`, so both sides agree on one spelling. Two parallel token lists come out:

* `accented` — lowercase, NFC, tone mark on one canonical vowel (hoà → hòa, thuỷ → thủy), i/y unified
  after a consonant (lí = lý), abbreviations expanded;
* `folded` — the same tokens without any diacritics, đ → d, which is what the index keys on, because many
  citizens type without diacritics.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# --- tone marks -------------------------------------------------------------------------------------

# Combining marks of the five Vietnamese tones (huyền, sắc, hỏi, ngã, nặng).
_TONE_MARKS = {"\u0300": 1, "\u0301": 2, "\u0309": 3, "\u0303": 4, "\u0323": 5}
_TONE_BY_NUMBER = {number: mark for mark, number in _TONE_MARKS.items()}
# Vowels that carry a quality mark (ă â ê ô ơ ư): the tone goes on them.
_MARKED_VOWELS = set("ăâêôơư")
_VOWELS = set("aăâeêioôơuưy")
_CONSONANT_ONLY = re.compile(r"^[bcdđghklmnpqrstvx]+$")

_WORD = re.compile(r"[0-9a-zđ\u00c0-\u1ef9]+", re.IGNORECASE)


def _split_tone(syllable: str) -> tuple[str, int]:
    """Return the syllable without its tone mark (quality marks kept) and the tone number (0 = none)."""
    decomposed = unicodedata.normalize("NFD", syllable)
    tone = 0
    kept = []
    for char in decomposed:
        if char in _TONE_MARKS:
            tone = _TONE_MARKS[char]
        else:
            kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def _tone_position(base: str) -> int | None:
    """Index of the vowel that carries the tone in `base` (traditional placement: hòa, thủy, quý)."""
    start = 0
    # "qu" and "gi" + vowel: the u / i belongs to the initial consonant.
    if base.startswith("qu"):
        start = 2
    elif base.startswith("gi") and len(base) > 2 and base[2] in _VOWELS:
        start = 2
    positions = [i for i in range(start, len(base)) if base[i] in _VOWELS]
    if not positions:
        positions = [i for i in range(len(base)) if base[i] in _VOWELS]
        if not positions:
            return None
    # The vowel nucleus is the first contiguous run of vowels.
    run = [positions[0]]
    for index in positions[1:]:
        if index == run[-1] + 1:
            run.append(index)
        else:
            break
    marked = [i for i in run if base[i] in _MARKED_VOWELS]
    if marked:
        return marked[-1] if base[marked[-1]] == "ơ" else marked[0]
    if len(run) == 1:
        return run[0]
    has_final_consonant = run[-1] + 1 < len(base)
    if len(run) == 3 or has_final_consonant:
        return run[1]
    return run[0]


@lru_cache(maxsize=65536)
def canonical_syllable(syllable: str) -> str:
    """One spelling per syllable: lowercase NFC, tone on the canonical vowel, i for y after a consonant."""
    base, tone = _split_tone(syllable.lower())
    # lý/lí, kỹ/kĩ, mỹ/mĩ, quý/quí: "y" alone after a consonant is written either way.
    if base.endswith("y") and len(base) >= 2 and _CONSONANT_ONLY.match(base[:-1]):
        base = base[:-1] + "i"
    if tone == 0:
        return base
    position = _tone_position(base)
    if position is None:
        return base
    marked = unicodedata.normalize("NFC", base[position] + _TONE_BY_NUMBER[tone])
    return base[:position] + marked + base[position + 1 :]


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Remove every diacritic and map đ to d: "Đăng ký" → "dang ky" (case kept)."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.replace("đ", "d").replace("Đ", "D")


# --- abbreviations, loanwords and fillers ---------------------------------------------------------

# Chat abbreviations and loanwords, keyed by the folded token; the value is the expansion with diacritics.
# Keep this a list of what citizens actually type, not synonyms for one question.
ABBREVIATIONS: dict[str, str] = {
    # negation / question particles
    "ko": "không",
    "k": "không",
    "kg": "không",
    "kh": "không",
    "hok": "không",
    "hong": "không",
    "hem": "không",
    "khum": "không",
    "khong": "không",
    "dc": "được",
    "dk": "đăng ký",
    "đk": "đăng ký",
    "bn": "bao nhiêu",
    "bnh": "bao nhiêu",
    "bnhieu": "bao nhiêu",
    "baonhieu": "bao nhiêu",
    "nhiu": "nhiêu",
    "j": "gì",
    "ji": "gì",
    "gi": "gì",
    "ntn": "như thế nào",
    "ns": "nói",
    "lm": "làm",
    "ms": "mới",
    "trc": "trước",
    "vs": "với",
    "z": "vậy",
    "v": "vậy",
    "r": "rồi",
    "mn": "mọi người",
    "ng": "người",
    "nc": "nước",
    "nn": "nước ngoài",
    "bik": "biết",
    "bit": "biết",
    "mik": "mình",
    "mk": "mình",
    "ck": "chồng",
    "vk": "vợ",
    "e": "em",
    "a": "anh",
    "ad": "admin",
    "add": "admin",
    "tks": "cảm ơn",
    "thanks": "cảm ơn",
    "thank": "cảm ơn",
    "thankyou": "cảm ơn",
    "camon": "cảm ơn",
    "hi": "xin chào",
    "hello": "xin chào",
    "helo": "xin chào",
    "alo": "xin chào",
    # administrative abbreviations
    "cccd": "căn cước công dân",
    "cmnd": "chứng minh nhân dân căn cước",
    "cmt": "chứng minh nhân dân căn cước",
    "gplx": "giấy phép lái xe",
    "blx": "bằng lái xe",
    "lltp": "lý lịch tư pháp",
    "dkkd": "đăng ký kinh doanh",
    "gpkd": "giấy phép kinh doanh",
    "gcn": "giấy chứng nhận",
    "gcnqsdd": "giấy chứng nhận quyền sử dụng đất",
    "qsdd": "quyền sử dụng đất",
    "gpxd": "giấy phép xây dựng",
    "gpld": "giấy phép lao động",
    "bhxh": "bảo hiểm xã hội",
    "bhyt": "bảo hiểm y tế",
    "bhtn": "bảo hiểm thất nghiệp",
    "sdt": "số điện thoại",
    "đt": "điện thoại",
    "ubnd": "ủy ban nhân dân",
    "tthc": "thủ tục hành chính",
    "tt": "thủ tục",
    "hs": "hồ sơ",
    "gt": "giấy tờ",
    "dv": "dịch vụ",
    "dvc": "dịch vụ công",
    "cty": "công ty",
    "ct": "công ty",
    "dn": "doanh nghiệp",
    "tnhh": "trách nhiệm hữu hạn",
    "hkd": "hộ kinh doanh",
    "attp": "an toàn thực phẩm",
    "vstp": "vệ sinh thực phẩm",
    "atvstp": "an toàn vệ sinh thực phẩm",
    "cchn": "chứng chỉ hành nghề",
    "kcb": "khám bệnh chữa bệnh",
    "tc": "trợ cấp",
    "tctn": "trợ cấp thất nghiệp",
    "hn": "hôn nhân",
    # loanwords
    "passport": "hộ chiếu",
    "pasport": "hộ chiếu",
    "passpost": "hộ chiếu",
    "online": "trực tuyến",
    "onl": "trực tuyến",
    "onine": "trực tuyến",
    "internet": "trực tuyến",
    "web": "trang điện tử",
    "website": "trang điện tử",
    "hotline": "đường dây nóng",
    "form": "mẫu đơn",
    "visa": "thị thực",
    "card": "thẻ",
    "ship": "gửi bưu điện",
    "shipper": "bưu điện",
    "app": "ứng dụng",
    "vneid": "vneid",
}

# Multi-word colloquial names for a thing that the documents name otherwise. Applied on folded text.
PHRASES: dict[str, str] = {
    "so do": "giấy chứng nhận quyền sử dụng đất sổ đỏ",
    "so hong": "giấy chứng nhận quyền sử dụng đất sổ hồng",
    "bang lai": "giấy phép lái xe bằng lái",
    "can cuoc cong dan": "căn cước công dân",
    "duong day nong": "đường dây nóng",
    "bao nhieu": "bao nhiêu",
    "ad oi": "",
    "admin oi": "",
    "cho em hoi": "",
    "cho minh hoi": "",
    "cho toi hoi": "",
    "cho chau hoi": "",
    "cho hoi": "",
    "xin hoi": "",
    "em muon hoi": "",
    "minh muon hoi": "",
    "toi muon hoi": "",
    "em hoi": "",
    "lam on": "",
    "giup em": "",
    "giup minh": "",
    "giup toi": "",
    "cam on": "cảm ơn",
}

# Words that carry no meaning for finding a procedure (pronouns, particles, question words). They stay
# in the text for aspect detection but are not matched against the knowledge base.
STOPWORDS: frozenset[str] = frozenset(
    """
    a ah a ạ à ơi oi nhe nha nhé ha hả hở vay vậy the thế thi thì ma mà la là co có khong không duoc được
    em anh chi chị chu chú bac bác co cô minh mình toi tôi tui chau cháu ban bạn admin ad ông ong ba bà
    oi dạ da vâng vang ok oke okay ạ nhỉ nhi với voi va và hay hoặc hoac cua của cho cần can
    muon muốn hoi hỏi biet biết xin vui long lòng rồi roi nay này đó do kia thôi thoi
    gì gi nào nao sao ai đâu dau bao nhiêu nhieu mấy may khi bây giờ gio
    thi phai phải nên nen bị bi đã da đang dang sẽ se ra vào vao tại tai ở o
    những nhung các cac một mot mọi moi người nguoi
    """.split()
)

_FILLER_TAIL = {"a", "ạ", "à", "ơi", "oi", "nhe", "nha", "nhé", "ha", "hả", "vay", "vậy", "z", "v", "ad", "admin"}


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text: parallel lists of accented and folded tokens."""

    accented: tuple[str, ...]
    folded: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.accented)

    @property
    def folded_text(self) -> str:
        return " ".join(self.folded)

    def has_diacritics(self) -> bool:
        """Whether the citizen typed diacritics (any token differs from its folded form)."""
        return any(a != f for a, f in zip(self.accented, self.folded, strict=True))


def tokenize(text: str) -> list[str]:
    """Lowercase NFC word tokens; punctuation, emoji and symbols are dropped."""
    text = unicodedata.normalize("NFC", text).lower()
    return _WORD.findall(text)


def _expand(tokens: list[str]) -> list[str]:
    """Apply the phrase list and then the abbreviation list (both keyed on folded text)."""
    folded = [fold(token) for token in tokens]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        replaced = False
        for size in (3, 2):
            if i + size <= len(tokens):
                key = " ".join(folded[i : i + size])
                if key in PHRASES:
                    out.extend(PHRASES[key].split())
                    i += size
                    replaced = True
                    break
        if replaced:
            continue
        token = tokens[i]
        expansion = ABBREVIATIONS.get(token) or ABBREVIATIONS.get(folded[i])
        # Expand a folded abbreviation only when it was typed without diacritics ("đc" and "dc" both;
        # "gì" is already a word and "đi" must not become "đăng ký").
        if expansion is not None and (token == folded[i] or token in ABBREVIATIONS):
            out.extend(expansion.split())
        else:
            out.append(token)
        i += 1
    return out


@lru_cache(maxsize=4096)
def normalize(text: str, expand: bool = True) -> Normalized:
    """Normalise `text` for matching (see the module docstring)."""
    tokens = tokenize(text)
    if expand:
        tokens = _expand(tokens)
    accented = tuple(canonical_syllable(token) for token in tokens)
    folded = tuple(fold(token) for token in accented)
    return Normalized(accented, folded)


def strip_fillers(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Drop trailing politeness particles ("... ạ", "... ad ơi")."""
    end = len(tokens)
    while end > 0 and tokens[end - 1] in _FILLER_TAIL:
        end -= 1
    return tokens[:end]


def slugify(text: str) -> str:
    """An id slug [a-z0-9-] from Vietnamese text: "Đăng ký kết hôn" → "dang-ky-ket-hon"."""
    folded = fold(unicodedata.normalize("NFC", text)).lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


__all__ = [
    "ABBREVIATIONS",
    "PHRASES",
    "STOPWORDS",
    "Normalized",
    "canonical_syllable",
    "fold",
    "normalize",
    "slugify",
    "strip_fillers",
    "tokenize",
]
