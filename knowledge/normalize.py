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
    if base.startswith("qu") or (base.startswith("gi") and len(base) > 2 and base[2] in _VOWELS):
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
    if base.endswith("y") and len(base) >= 2 and (_CONSONANT_ONLY.match(base[:-1]) or base == "quy"):
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

# Chat abbreviations and loanwords, keyed by the token as typed (lowercase); the value is the expansion
# with diacritics. Keep this a list of what citizens actually type, not synonyms for one question.
ABBREVIATIONS: dict[str, str] = {
    # particles and chat shorthand
    "ko": "không",
    "k": "không",
    "kg": "không",
    "kh": "không",
    "hok": "không",
    "hong": "không",
    "hem": "không",
    "khum": "không",
    "dc": "được",
    "đc": "được",
    "dk": "đăng ký",
    "đk": "đăng ký",
    "dky": "đăng ký",
    "đky": "đăng ký",
    "dki": "đăng ký",
    "đki": "đăng ký",
    "bn": "bao nhiêu",
    "bnh": "bao nhiêu",
    "bnhieu": "bao nhiêu",
    "baonhieu": "bao nhiêu",
    "nhiu": "nhiêu",
    "j": "gì",
    "ji": "gì",
    "gi": "gì",
    "ntn": "như thế nào",
    "lm": "làm",
    "ms": "mới",
    "trc": "trước",
    "vs": "với",
    "z": "vậy",
    "v": "vậy",
    "r": "rồi",
    "h": "giờ",
    "e": "em",
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
    "ad": "admin",
    "add": "admin",
    "tks": "cảm ơn",
    "thanks": "cảm ơn",
    "thank": "cảm ơn",
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
    "đkkd": "đăng ký kinh doanh",
    "gpkd": "giấy phép kinh doanh",
    "gcn": "giấy chứng nhận",
    "qsdd": "quyền sử dụng đất",
    "qsdđ": "quyền sử dụng đất",
    "gpxd": "giấy phép xây dựng",
    "gpld": "giấy phép lao động",
    "gplđ": "giấy phép lao động",
    "bhxh": "bảo hiểm xã hội",
    "bhyt": "bảo hiểm y tế",
    "bhtn": "bảo hiểm thất nghiệp",
    "sdt": "số điện thoại",
    "sđt": "số điện thoại",
    "đt": "điện thoại",
    "ubnd": "ủy ban nhân dân",
    "tthc": "thủ tục hành chính",
    "hs": "hồ sơ",
    "gt": "giấy tờ",
    "dv": "dịch vụ",
    "dvc": "dịch vụ công",
    "cty": "công ty",
    "dn": "doanh nghiệp",
    "tnhh": "trách nhiệm hữu hạn",
    "hkd": "hộ kinh doanh",
    "attp": "an toàn thực phẩm",
    "vstp": "vệ sinh thực phẩm",
    "atvstp": "an toàn vệ sinh thực phẩm",
    "cchn": "chứng chỉ hành nghề",
    "kcb": "khám bệnh chữa bệnh",
    "tctn": "trợ cấp thất nghiệp",
    # loanwords
    "passport": "hộ chiếu",
    "pasport": "hộ chiếu",
    "passpost": "hộ chiếu",
    "online": "trực tuyến",
    "onl": "trực tuyến",
    "hotline": "đường dây nóng",
    "form": "mẫu đơn",
    "visa": "thị thực",
    "card": "thẻ",
    "ship": "gửi bưu điện",
    "app": "ứng dụng",
}

# Multi-word colloquial names and filler phrases, written with diacritics. A phrase matches tokens typed
# with the same diacritics or typed without any ("so do" is "sổ đỏ", but "sơ đồ" is not).
PHRASES: dict[str, str] = {
    "sổ đỏ": "giấy chứng nhận quyền sử dụng đất sổ đỏ",
    "sổ hồng": "giấy chứng nhận quyền sử dụng đất sổ hồng",
    "bằng lái": "giấy phép lái xe bằng lái",
    "công chứng": "công chứng chứng thực",
    "qua mạng": "trực tuyến qua mạng",
    "trên mạng": "trực tuyến trên mạng",
    # weekdays written with a digit: "thứ 7" is "thứ bảy"
    "thứ 2": "thứ hai",
    "thứ 3": "thứ ba",
    "thứ 4": "thứ tư",
    "thứ 5": "thứ năm",
    "thứ 6": "thứ sáu",
    "thứ 7": "thứ bảy",
    "ad ơi": "",
    "admin ơi": "",
    "cho em hỏi": "",
    "cho mình hỏi": "",
    "cho tôi hỏi": "",
    "cho cháu hỏi": "",
    "cho hỏi": "",
    "xin hỏi": "",
    "em muốn hỏi": "",
    "mình muốn hỏi": "",
    "tôi muốn hỏi": "",
    "làm ơn": "",
    "giúp em": "",
    "giúp mình": "",
    "giúp tôi": "",
    "cám ơn": "cảm ơn",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no meaning for finding a procedure (pronouns, particles, question words). They stay
# in the text for aspect detection but are not matched against the knowledge base. Accented forms here;
# `FOLDED_STOPWORDS` are the diacritics-free spellings whose every common reading is such a word.
STOPWORDS: frozenset[str] = _words(
    """
    à ạ ơi nhé nha hả hở vậy thế thì mà là có không được em anh chị chú bác cô mình tôi tui cháu bạn còn
    admin ông bà dạ vâng ok oke okay nhỉ với và hay hoặc của cho cần muốn hỏi biết xin vui lòng rồi
    này đó kia thôi gì nào sao ai đâu bao nhiêu mấy khi phải nên bị đã đang sẽ ra vào tại ở những các
    một mọi người như nhau ah ha nhe oi ơ
    """
)
FOLDED_STOPWORDS: frozenset[str] = _words(
    """
    a ah ha nhe nha oi vay khong duoc em anh minh toi tui chau admin ad ong da vang ok oke okay nhi voi
    va hay hoac cua cho muon biet xin vui roi nay kia thoi gi nao sao ai nhieu may khi phai nen
    bi se ra vao o nhung cac mot moi nguoi nhu co thi ma
    """
)
# Diacritics-free spellings that are often a particle but also a content word ("can" = cần / căn,
# "the" = thế / thẻ, "la" = là / lá, "ban" = bạn / bán / bản, "hoi" = hỏi / hội, "dau" = đâu / đầu,
# "bao" = bao (nhiêu) / bảo (hiểm) / báo (tử)).
FOLDED_WEAK: frozenset[str] = _words("can the la ban hoi dau lam chi tai do dang bao")


def token_weight(accented: str, folded: str) -> float:
    """How much a query token counts for finding a procedure: 0 for particles, less for ambiguous ones."""
    if accented == folded:  # typed without diacritics: only the folded lists can tell
        if folded in FOLDED_STOPWORDS:
            return 0.0
        if folded in FOLDED_WEAK:
            return 0.35
        return 1.0
    return 0.0 if accented in STOPWORDS else 1.0


_FILLER_TAIL = {"a", "ạ", "à", "ơi", "oi", "nhe", "nha", "nhé", "ha", "hả", "vay", "vậy", "admin"}


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


def _phrase_keys() -> dict[tuple[str, ...], tuple[tuple[str, ...], list[str]]]:
    keys: dict[tuple[str, ...], tuple[tuple[str, ...], list[str]]] = {}
    for phrase, expansion in PHRASES.items():
        words = tuple(canonical_syllable(word) for word in phrase.split())
        keys[tuple(fold(word) for word in words)] = (words, expansion.split())
    return keys


_PHRASE_KEYS = _phrase_keys()


# Keyed by the canonical spelling of the token ("cty" is canonically "cti": y after a consonant is i).
ABBREVIATION_KEYS = {canonical_syllable(key): value for key, value in ABBREVIATIONS.items()} | ABBREVIATIONS
_HOUR = re.compile(r"^(\d{1,2})h(\d{2})?$")


def _same_word(typed: str, canonical: str) -> bool:
    """`typed` is `canonical`, or is `canonical` typed without diacritics."""
    return typed == canonical or typed == fold(canonical) == fold(typed)


def _expand(tokens: list[str]) -> list[str]:
    """Apply the phrase list, then the abbreviation list, to canonical tokens."""
    folded = [fold(token) for token in tokens]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        match: list[str] | None = None
        for size in (3, 2):
            entry = _PHRASE_KEYS.get(tuple(folded[i : i + size])) if i + size <= len(tokens) else None
            if entry is not None and all(_same_word(tokens[i + k], word) for k, word in enumerate(entry[0])):
                match = entry[1]
                i += size
                break
        if match is not None:
            out.extend(match)
            continue
        expansion = ABBREVIATION_KEYS.get(tokens[i])
        hour = _HOUR.match(tokens[i])
        if hour is not None:  # "7h", "8h30": a time of day
            out.extend([hour.group(1), "giờ", *([hour.group(2)] if hour.group(2) else [])])
        elif expansion is not None:
            out.extend(canonical_syllable(word) for word in expansion.split())
        else:
            out.append(tokens[i])
        i += 1
    return out


@lru_cache(maxsize=16384)
def normalize(text: str, expand: bool = True) -> Normalized:
    """Normalise `text` for matching (see the module docstring)."""
    tokens = [canonical_syllable(token) for token in tokenize(text)]
    accented = tuple(_expand(tokens) if expand else tokens)
    folded = tuple(fold(token) for token in accented)
    return Normalized(accented, folded)


def strip_fillers(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Drop trailing politeness particles ("... ạ", "... ad ơi")."""
    end = len(tokens)
    while end > 0 and tokens[end - 1] in _FILLER_TAIL:
        end -= 1
    return tokens[:end]


# A sentence ends at ? or ! (even without a space after it: "...như thế nào?em cảm ơn"), at . ; : followed
# by a space (not inside "1.000" or "TP.HCM"), and at a line break.
_SENTENCE_BREAK = re.compile(r"(?<=[?!])\s*|(?<=[.;:…])\s+|[\r\n]+")


def split_sentences(text: str) -> list[str]:
    """The sentences of a message, in order, without empty ones."""
    return [part.strip() for part in _SENTENCE_BREAK.split(text) if part and part.strip()]


# --- English messages -------------------------------------------------------------------------------

# A Vietnamese syllable typed without diacritics: initial consonant(s), vowels, an allowed final. English
# words mostly are not ("how", "please", "need", "passport"), Vietnamese typed without accents always is.
_VIETNAMESE_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?$"
)
ENGLISH_MIN_WORDS = 2
# Words no Vietnamese message has, one of which every English sentence has.
_ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "how",
        "what",
        "where",
        "when",
        "which",
        "who",
        "why",
        "please",
        "is",
        "are",
        "was",
        "does",
        "did",
        "need",
        "want",
        "much",
        "english",
        "would",
        "should",
        "could",
        "will",
        "have",
        "has",
        "you",
        "your",
        "my",
        "me",
        "we",
        "our",
        "it",
        "this",
        "that",
        "for",
        "with",
        "and",
        "of",
        "from",
        "there",
        "apply",
        "register",
        "get",
    ]
)
ENGLISH_SHARE = 0.5

# English words and phrases a question about a procedure is made of, in Vietnamese: enough for the matcher
# to find the procedure and the aspect in an English question (longest phrases first).
ENGLISH_GLOSSARY: dict[str, str] = {
    "criminal record certificate": "lý lịch tư pháp",
    "criminal record": "lý lịch tư pháp",
    "judicial record": "lý lịch tư pháp",
    "birth certificate": "khai sinh",
    "birth registration": "đăng ký khai sinh",
    "register a birth": "đăng ký khai sinh",
    "death certificate": "khai tử",
    "register a death": "đăng ký khai tử",
    "marriage certificate": "đăng ký kết hôn",
    "marriage registration": "đăng ký kết hôn",
    "get married": "đăng ký kết hôn",
    "marry": "kết hôn",
    "marriage": "kết hôn",
    "single status": "xác nhận tình trạng hôn nhân",
    "marital status": "xác nhận tình trạng hôn nhân",
    "driving licence": "giấy phép lái xe",
    "driving license": "giấy phép lái xe",
    "driver's license": "giấy phép lái xe",
    "drivers license": "giấy phép lái xe",
    "driver license": "giấy phép lái xe",
    "international driving permit": "giấy phép lái xe quốc tế",
    "id card": "thẻ căn cước",
    "identity card": "thẻ căn cước",
    "citizen id": "căn cước",
    "work permit": "giấy phép lao động",
    "temporary residence card": "thẻ tạm trú người nước ngoài",
    "temporary residence": "tạm trú",
    "permanent residence": "thường trú",
    "building permit": "giấy phép xây dựng",
    "construction permit": "giấy phép xây dựng",
    "business registration": "đăng ký kinh doanh",
    "household business": "hộ kinh doanh",
    "set up a company": "thành lập doanh nghiệp",
    "open a company": "thành lập doanh nghiệp",
    "register a company": "thành lập doanh nghiệp",
    "company": "doanh nghiệp",
    "land use right certificate": "giấy chứng nhận quyền sử dụng đất",
    "land certificate": "giấy chứng nhận quyền sử dụng đất",
    "red book": "sổ đỏ",
    "vehicle registration": "đăng ký xe",
    "register a motorbike": "đăng ký xe",
    "register a car": "đăng ký xe",
    "social insurance": "bảo hiểm xã hội",
    "health insurance": "bảo hiểm y tế",
    "unemployment benefit": "trợ cấp thất nghiệp",
    "maternity": "thai sản",
    "notarize": "chứng thực",
    "notarise": "chứng thực",
    "certified copy": "chứng thực bản sao",
    "passport": "hộ chiếu",
    "visa": "thị thực",
    "lost": "bị mất",
    "renew": "đổi",
    "replace": "cấp lại",
    "how much": "bao nhiêu tiền",
    "fee": "lệ phí",
    "fees": "lệ phí",
    "cost": "lệ phí",
    "price": "lệ phí",
    "how long": "mất bao lâu",
    "processing time": "thời hạn",
    "documents": "giấy tờ gì",
    "papers": "giấy tờ gì",
    "what do i need": "cần giấy tờ gì",
    "requirements": "điều kiện",
    "conditions": "điều kiện",
    "eligible": "điều kiện",
    "where": "ở đâu",
    "how": "như thế nào",
    "steps": "các bước",
    "procedure": "thủ tục",
    "form": "mẫu đơn",
    "forms": "mẫu đơn",
    "online": "trực tuyến",
    "legal basis": "căn cứ pháp lý",
    "opening hours": "giờ làm việc",
    "working hours": "giờ làm việc",
    "address": "địa chỉ trung tâm",
    "hotline": "đường dây nóng",
}
_ENGLISH_KEYS = sorted(ENGLISH_GLOSSARY, key=lambda phrase: -len(phrase.split()))


def is_english(text: str) -> bool:
    """Whether a message is written in English: no Vietnamese diacritics, and at least half of its words
    (two or more) can be no Vietnamese syllable nor a chat abbreviation."""
    words = [word for word in re.findall(r"[a-z']+", text.lower()) if word]
    if len(words) < ENGLISH_MIN_WORDS or "đ" in text.lower():
        return False
    if any(unicodedata.combining(char) for char in unicodedata.normalize("NFD", text)):
        return False  # typed with Vietnamese diacritics
    foreign = [
        word
        for word in words
        if not _VIETNAMESE_SYLLABLE.match(word.replace("'", "")) and canonical_syllable(word) not in ABBREVIATION_KEYS
    ]
    return (
        len(foreign) >= ENGLISH_MIN_WORDS
        and len(foreign) >= ENGLISH_SHARE * len(words)
        and any(word in _ENGLISH_FUNCTION_WORDS for word in words)  # not a code or a string of letters
    )


_LANGUAGE_REQUEST_WORDS = frozenset(
    [
        "english",
        "please",
        "pls",
        "plz",
        "can",
        "could",
        "you",
        "speak",
        "do",
        "in",
        "reply",
        "answer",
        "talk",
        "write",
        "i",
        "we",
        "need",
        "want",
        "an",
        "is",
        "there",
        "version",
        "use",
        "switch",
        "to",
        "language",
        "only",
        "help",
        "me",
        "us",
        "with",
        "ok",
        "hi",
        "hello",
        "sorry",
        "tieng",
        "anh",
    ]
)


def asks_for_english(text: str) -> bool:
    """Whether a short message asks for English ("English please", "Can you speak English?", "tiếng Anh")."""
    words = re.findall(r"[a-z]+", fold(unicodedata.normalize("NFC", text)).lower())
    if not words or len(words) > 8:
        return False
    named = "english" in words or ("tieng" in words and "anh" in words)
    return named and set(words) <= _LANGUAGE_REQUEST_WORDS


def from_english(text: str) -> str:
    """The words of an English question the matcher can read, in Vietnamese (the rest dropped)."""
    lowered = " " + " ".join(re.findall(r"[a-z0-9']+", text.lower())) + " "
    found: list[tuple[int, str]] = []
    for phrase in _ENGLISH_KEYS:
        key = f" {phrase} "
        while key in lowered:
            position = lowered.index(key)
            found.append((position, ENGLISH_GLOSSARY[phrase]))
            lowered = lowered[:position] + " " + "#" * (len(key) - 2) + " " + lowered[position + len(key) :]
    return " ".join(vietnamese for _, vietnamese in sorted(found))


def slugify(text: str) -> str:
    """An id slug [a-z0-9-] from Vietnamese text: "Đăng ký kết hôn" → "dang-ky-ket-hon"."""
    folded = fold(unicodedata.normalize("NFC", text)).lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


__all__ = [
    "ABBREVIATIONS",
    "ABBREVIATION_KEYS",
    "FOLDED_STOPWORDS",
    "FOLDED_WEAK",
    "PHRASES",
    "STOPWORDS",
    "Normalized",
    "canonical_syllable",
    "fold",
    "normalize",
    "asks_for_english",
    "from_english",
    "is_english",
    "slugify",
    "split_sentences",
    "strip_fillers",
    "token_weight",
    "tokenize",
]
