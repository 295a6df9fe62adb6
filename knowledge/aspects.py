"""Which part of a procedure a question asks about, from cue words typed with or without diacritics."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.normalize import canonical_syllable, fold

ASPECTS = (
    "fee",
    "documents",
    "processing_time",
    "steps",
    "where",
    "conditions",
    "legal_basis",
    "forms",
    "overview",
)

# Cue phrases with a strength. A cue matches tokens typed with its diacritics or typed without any; a cue
# starting with "=" needs the diacritics (bare "đâu" is "where", but "dau" is also "đầu" as in "lần đầu").
_CUES: dict[str, dict[str, float]] = {
    "fee": {
        "lệ phí": 2.5,
        "phí": 2.0,
        "chi phí": 2.5,
        "bao nhiêu tiền": 3.0,
        "hết bao nhiêu": 2.5,
        "tốn bao nhiêu": 3.0,
        "mất bao nhiêu": 1.5,
        "tốn": 1.5,
        "tốn tiền": 3.0,
        "mất tiền": 3.0,
        "tiền": 2.0,
        "giá": 1.5,
        "miễn phí": 2.5,
        "mất phí": 3.0,
        "nộp tiền": 2.5,
        "đóng tiền": 2.5,
        "mức thu": 2.5,
        "thu phí": 2.5,
        "bao nhiêu": 0.9,
        "=nhiêu": 0.9,
    },
    "documents": {
        "giấy tờ": 2.5,
        "giấy tờ gì": 3.0,
        "hồ sơ gồm": 3.0,
        "thành phần hồ sơ": 3.0,
        "cần gì": 2.5,
        "cần những gì": 3.0,
        "cần có gì": 3.0,
        "cần những giấy": 3.0,
        "cần giấy": 2.5,
        "cần mang": 3.0,
        "mang gì": 3.0,
        "mang theo": 2.5,
        "chuẩn bị": 2.0,
        "chuẩn bị gì": 3.0,
        "gồm những gì": 2.5,
        "gồm gì": 2.5,
        "hồ sơ": 1.0,
        "cần nộp": 1.5,
        "bản vẽ": 2.0,
        "giấy gì": 2.5,
    },
    "processing_time": {
        "bao lâu": 3.0,
        "mất bao lâu": 3.0,
        "mấy ngày": 3.0,
        "mất mấy ngày": 3.0,
        "mất bao nhiêu ngày": 3.0,
        "mất mấy hôm": 3.0,
        "mất mấy tuần": 3.0,
        "mất bao lâu thì": 3.0,
        "bao nhiêu ngày": 3.0,
        "mấy hôm": 3.0,
        "mấy tuần": 3.0,
        "bao nhiêu lâu": 3.0,
        "thời gian": 2.0,
        "thời hạn": 2.5,
        "khi nào có": 2.5,
        "khi nào lấy": 2.5,
        "khi nào nhận": 2.5,
        "bao giờ có": 2.5,
        "bao giờ lấy": 2.5,
        "bao giờ": 1.5,
        "lâu không": 2.5,
        "=lâu": 1.5,
        "hẹn trả": 2.0,
        "ngày hẹn": 2.0,
    },
    "steps": {
        "như thế nào": 2.5,
        "thế nào": 2.0,
        "như nào": 2.5,
        "làm sao": 2.5,
        "ra sao": 2.0,
        "cách": 1.5,
        "cách làm": 2.5,
        "quy trình": 3.0,
        "trình tự": 3.0,
        "các bước": 3.0,
        "bước": 1.5,
        "hướng dẫn": 2.0,
        "làm gì": 1.5,
        "thủ tục gì": 1.0,
        "những thủ tục gì": 2.2,
        "làm những thủ tục gì": 2.6,
        "làm thủ tục gì": 2.6,
        "tiến hành": 1.0,
    },
    "where": {
        "ở đâu": 3.0,
        "tại đâu": 3.0,
        "chỗ nào": 3.0,
        "nơi nào": 3.0,
        "nơi nộp": 3.0,
        "đi đâu": 3.0,
        "đến đâu": 3.0,
        "nộp đâu": 3.0,
        "làm đâu": 3.0,
        "=đâu": 2.0,
        "địa chỉ": 2.5,
        "cơ quan nào": 2.5,
        "cho ai": 2.5,
        "nộp cho ai": 3.0,
        "gặp ai": 2.5,
        "liên hệ ai": 3.0,
        "liên hệ với ai": 3.0,
        "nộp ở": 2.0,
        "làm ở": 2.0,
        "trực tuyến": 1.5,
        "qua mạng": 1.5,
        "bưu điện": 1.5,
        "bưu chính": 1.5,
    },
    "conditions": {
        "điều kiện": 3.0,
        "yêu cầu gì": 2.5,
        "ai được": 2.5,
        "đối tượng": 2.5,
        "được hưởng": 2.0,
        "tiêu chuẩn": 2.0,
        "đủ tuổi": 2.0,
        "bao nhiêu tuổi": 3.0,
        "mấy tuổi": 3.0,
        "độ tuổi": 2.5,
        # yes/no questions ask whether one must / may: a weak cue, any stronger one wins
        "bắt buộc": 2.8,
        "có cần": 2.6,
        "có phải": 1.2,
        "được không": 1.0,
        "có được": 1.0,
        # requirements stated as a minimum, a notice period or a deposit (how long / how much of these
        # is still the requirement)
        "tối thiểu": 2.0,
        "báo trước": 3.5,
        "ký quỹ": 3.5,
    },
    "legal_basis": {
        "căn cứ": 3.0,
        "pháp lý": 3.0,
        "luật nào": 3.0,
        "=luật": 2.0,
        "nghị định": 3.0,
        "thông tư": 3.0,
        "văn bản": 2.0,
        "quy định nào": 3.0,
        "văn bản nào": 3.0,
    },
    "forms": {
        "mẫu đơn": 3.0,
        "tờ khai": 2.5,
        "=mẫu": 2.0,
        "biểu mẫu": 3.0,
        "tải mẫu": 3.0,
        "mẫu tờ khai": 3.0,
        "=đơn": 1.5,
        "điền đơn": 2.5,
        "mẫu giấy": 3.0,
        "mẫu số": 3.0,
        "giấy đề nghị": 2.0,
        "tải về": 2.5,
        "tải": 1.5,
    },
    # what it is, how two things differ: the overview answers that
    "overview": {
        "là gì": 3.0,
        "khác nhau": 3.0,
        "khác gì": 3.0,
        "phân biệt": 3.0,
    },
}

# "cần <something> gì" asks what to bring: documents, unless a stronger cue says otherwise.
_NEED = "cần"
_WHAT = "gì"
_NEED_GAP = 3
_NEED_STRENGTH = 2.4
# Asking where to find a form ("tờ khai tải ở đâu") is asking for the form.
_OUTRANKS = {"forms": ("where",)}

_MIN_STRENGTH = 0.9


@dataclass(frozen=True, slots=True)
class _Cue:
    aspect: str
    words: tuple[str, ...]
    strength: float
    exact: bool


@dataclass(frozen=True, slots=True)
class CueHit:
    """A cue found in a question: its aspect, strength and the token positions it covers."""

    aspect: str
    strength: float
    start: int
    end: int
    yes_no: bool = False  # read from the form of a yes/no question, not from a cue phrase


def _compile() -> dict[str, list[_Cue]]:
    """Cues indexed by the folded first word, longest first."""
    by_first: dict[str, list[_Cue]] = {}
    for aspect, cues in _CUES.items():
        for phrase, strength in cues.items():
            exact = phrase.startswith("=")
            words = tuple(canonical_syllable(word) for word in phrase.lstrip("=").split())
            by_first.setdefault(fold(words[0]), []).append(_Cue(aspect, words, strength, exact))
    for compiled in by_first.values():
        compiled.sort(key=lambda cue: -len(cue.words))
    return by_first


_COMPILED = _compile()


def _matches(cue: _Cue, accented: tuple[str, ...], folded: tuple[str, ...], start: int) -> bool:
    if start + len(cue.words) > len(accented):
        return False
    for offset, word in enumerate(cue.words):
        typed = accented[start + offset]
        if typed == word:
            continue
        if cue.exact or typed != folded[start + offset] or folded[start + offset] != fold(word):
            return False
    return True


# Words that look like a cue but name something else: the lawyer addressed ("Luật sư cho tôi hỏi") asks for
# no legal basis.
_NOT_CUES = frozenset({("luat", "su"), ("van", "phong", "luat"), ("cong", "ty", "luat")})


def _not_a_cue(folded: tuple[str, ...], start: int) -> bool:
    return any(folded[start : start + len(phrase)] == phrase for phrase in _NOT_CUES)


def find_cues(accented: tuple[str, ...], folded: tuple[str, ...]) -> list[CueHit]:
    """Every cue phrase present in the (normalised) question."""
    hits: list[CueHit] = []
    for start, key in enumerate(folded):
        if _not_a_cue(folded, start):
            continue
        for cue in _COMPILED.get(key, ()):
            if _matches(cue, accented, folded, start):
                hits.append(CueHit(cue.aspect, cue.strength, start, start + len(cue.words)))
        if key == fold(_NEED) and accented[start] in (_NEED, key):
            window = folded[start + 2 : start + 2 + _NEED_GAP]
            if fold(_WHAT) in window:
                hits.append(CueHit("documents", _NEED_STRENGTH, start, start + 1))
    return hits


def choose_aspect(hits: list[CueHit]) -> str:
    """The aspect asked: the strongest cue wins (a second cue of the same aspect adds a little)."""
    scores: dict[str, float] = {}
    for hit in hits:
        if hit.aspect in scores:
            scores[hit.aspect] = max(scores[hit.aspect], hit.strength) + 0.1
        else:
            scores[hit.aspect] = hit.strength
    if not scores:
        return "overview"
    for aspect, beaten in _OUTRANKS.items():
        if aspect in scores:
            for other in beaten:
                if other in scores:
                    scores[aspect] = max(scores[aspect], scores[other] + 0.1)
    # equal strength: what is asked first ("nộp ở đâu và cần giấy tờ gì"), then the fixed order of ASPECTS
    first: dict[str, int] = {}
    for hit in hits:
        first[hit.aspect] = min(first.get(hit.aspect, hit.start), hit.start)
    best = max(
        ASPECTS,
        key=lambda aspect: (round(scores.get(aspect, 0.0), 6), -first.get(aspect, 10**6), -ASPECTS.index(aspect)),
    )
    return best if scores.get(best, 0.0) >= _MIN_STRENGTH else "overview"


# Words that make a sentence a question wherever they stand (accented), their spellings without diacritics
# where those are no other common word, and folded word pairs that ask ("bao lâu", "thì sao", "ở đâu").
_ASKING_ANYWHERE = frozenset({"gì", "nào", "đâu", "mấy", "chăng", "hả", "hở"})
_ASKING_FOLDED = frozenset({"gi", "ntn"})
_ASKING_PAIRS = frozenset(
    {
        ("bao", "nhieu"),
        ("bao", "lau"),
        ("bao", "gio"),
        ("thi", "sao"),
        ("tai", "sao"),
        ("vi", "sao"),
        ("ra", "sao"),
        ("lam", "sao"),
        ("the", "nao"),
        ("nhu", "nao"),
        ("o", "dau"),
        ("di", "dau"),
        ("cho", "nao"),
        ("khi", "nao"),
        ("la", "gi"),
    }
)
# ... and words that ask only at the end of a sentence ("có được cấp lại không", "đã làm chưa").
_ASKING_FINAL = frozenset({"không", "khong", "chưa", "chua", "hông", "hong", "hem", "nhỉ", "nhi"})
_TAIL_FILLERS = frozenset({"ạ", "a", "à", "vậy", "vay", "nhé", "nhe", "nha", "ơi", "oi", "thế", "hả", "ha", "admin"})
_INDEFINITE_BEFORE = frozenset({"bat", "cu", "ky"})
_INDEFINITE_AFTER = frozenset({"ca", "do", "het"})


def is_asking(raw: str, accented: tuple[str, ...], folded: tuple[str, ...]) -> bool:
    """Whether a sentence asks something: a final "?", a question word ("gì", "bao lâu", "ở đâu"), or a
    yes/no question's final "không" / "chưa". A cue alone does not ask ("Tôi đã chuẩn bị đủ giấy tờ.")."""
    if raw.rstrip().endswith("?"):
        return True
    if not accented:
        return False
    end = len(accented)
    while end > 1 and accented[end - 1] in _TAIL_FILLERS:
        end -= 1
    if accented[end - 1] in _ASKING_FINAL:
        return True
    for position, (word, plain) in enumerate(zip(accented[:end], folded[:end], strict=True)):
        if word in _ASKING_ANYWHERE or (word == plain and plain in _ASKING_FOLDED):
            indefinite = (position > 0 and folded[position - 1] in _INDEFINITE_BEFORE) or (
                position + 1 < end and folded[position + 1] in _INDEFINITE_AFTER
            )
            if not indefinite:  # "bất cứ giấy tờ nào", "không có gì cả" ask nothing
                return True
        if position + 1 < end and (plain, folded[position + 1]) in _ASKING_PAIRS:
            return True
    return False


# A yes/no question ("có được cấp lại không", "có phải xin giấy phép không") asks whether one may or must:
# the conditions — unless it asks about a way of doing it ("nộp trực tuyến được không"): the steps.
YES_NO_STRENGTH = 2.2
_YES_NO_FINAL = frozenset({"không", "khong", "chưa", "chua", "hông", "hong", "hem"})
_YES_NO_PAIRS = frozenset({("duoc", "khong"), ("hay", "khong"), ("hay", "chua"), ("phai", "khong")})
_CHANNEL_WORDS: tuple[tuple[str, ...], ...] = (
    ("trực", "tuyến"),
    ("qua", "mạng"),
    ("tại", "nhà"),
    ("ở", "nhà"),
    ("bưu", "điện"),
    ("bưu", "chính"),
    ("ủy", "quyền"),
    ("nhờ", "người"),
    ("vneid",),
)
# ... or about a place ("có phải về quê làm lại không", "sang huyện khác chứng thực được không"): where.
_PLACE_WORDS: tuple[tuple[str, ...], ...] = (
    ("về", "quê"),
    ("ở", "quê"),
    ("tại", "quê"),
    ("tỉnh", "khác"),
    ("huyện", "khác"),
    ("xã", "khác"),
    ("phường", "khác"),
    ("quận", "khác"),
    ("nơi", "khác"),
    ("sang", "bên"),
    ("về", "thành", "phố"),
    ("trái", "tuyến"),
)
# Cues of the first sentence that asks lead (citizens ask the main thing first); a sentence that starts with
# "nếu" ("Nếu được thì cần thủ tục gì?") asks on condition of the one before, and counts less.
FIRST_QUESTION_LEAD = 0.6
CONDITIONAL_LAG = 0.6


def yes_no_cue(accented: tuple[str, ...], folded: tuple[str, ...], offset: int = 0) -> CueHit | None:
    """The cue of a yes/no question, if the sentence is one."""
    end = len(accented)
    while end > 1 and accented[end - 1] in _TAIL_FILLERS:
        end -= 1
    if not end:
        return None
    if accented[end - 1] not in _YES_NO_FINAL:
        # "có được không vì tôi không có thời gian": the question, then its reason
        pairs = [i + 2 for i in range(end - 1) if (folded[i], folded[i + 1]) in _YES_NO_PAIRS]
        if not pairs:
            return None
        end = pairs[0]
    words = tuple(fold(word) for word in accented[:end])
    for phrase in _PLACE_WORDS:
        folded_phrase = tuple(fold(word) for word in phrase)
        size = len(folded_phrase)
        if any(words[i : i + size] == folded_phrase for i in range(len(words) - size + 1)):
            return CueHit("where", YES_NO_STRENGTH + 0.1, offset + end - 1, offset + end, yes_no=True)
    for phrase in _CHANNEL_WORDS:
        folded_phrase = tuple(fold(word) for word in phrase)
        size = len(folded_phrase)
        if any(words[i : i + size] == folded_phrase for i in range(len(words) - size + 1)):
            return CueHit("steps", YES_NO_STRENGTH + 0.1, offset + end - 1, offset + end, yes_no=True)
    return CueHit("conditions", YES_NO_STRENGTH, offset + end - 1, offset + end, yes_no=True)


def rank_sentences(hits: list[list[CueHit]], conditional: list[bool]) -> list[CueHit]:
    """The cues of the asking sentences, in order, with the first sentence's lead and the conditional
    sentences' lag applied to their strengths."""
    out: list[CueHit] = []
    first = True
    for sentence, lagging in zip(hits, conditional, strict=True):
        if not sentence:
            continue
        shift = -CONDITIONAL_LAG if lagging else (FIRST_QUESTION_LEAD if first else 0.0)
        first = first and lagging
        out += [CueHit(hit.aspect, hit.strength + shift, hit.start, hit.end, hit.yes_no) for hit in sentence]
    return out


__all__ = [
    "ASPECTS",
    "CueHit",
    "choose_aspect",
    "find_cues",
    "is_asking",
    "rank_sentences",
    "yes_no_cue",
]
