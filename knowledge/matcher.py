"""The FAQ matcher: finds the procedure (or general entry) and the aspect a citizen asks about.

Built once from a `KnowledgeBase`; `ask` does no I/O. Ranking combines three signals, each in [0, 1]:

* query coverage — the IDF-weighted share of the question's words (syllables and syllable bigrams, since
  Vietnamese words are mostly two syllables) that the entry's title, aliases, FAQ questions, field and summary
  contain (a lexical index in the BM25 family, with per-field weights and saturation at one hit);
* name coverage — the share of the best-matching name (title, alias or FAQ question) found in the question;
* fuzzy similarity — rapidfuzz `token_set_ratio` against the same names, robust to typos.

The combined score is calibrated so that it reads as confidence: at or above `ANSWER_THRESHOLD` the bot
answers, from `CLARIFY_THRESHOLD` it offers the best two or three as buttons, below it falls back honestly.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal

from rapidfuzz import fuzz, process

from knowledge.aspects import ASPECTS, CueHit, choose_aspect, find_cues, is_asking, rank_sentences, yes_no_cue
from knowledge.conversation import Conversation, Pending
from knowledge.families import Families, Family, Phrase, has_any, load_families
from knowledge.loader import KnowledgeBase
from knowledge.models import CentreInfo, GeneralEntry, Procedure
from knowledge.normalize import (
    ABBREVIATION_KEYS,
    STOPWORDS,
    Normalized,
    asks_for_english,
    fold,
    from_english,
    is_english,
    normalize,
    split_sentences,
    token_weight,
)
from knowledge.render import (
    ASPECT_LABELS,
    BUTTON_HOTLINE,
    BUTTON_HUMAN,
    button_label,
    render_clarify,
    render_fallback,
    render_general,
    render_greeting,
    render_need_procedure,
    render_procedure,
)
from knowledge.texts import brief, render_comparison, render_not_in_kb

Outcome = Literal["answer", "clarify", "fallback"]
Entry = Procedure | GeneralEntry

ANSWER_THRESHOLD = 0.70
CLARIFY_THRESHOLD = 0.42
# Two entries named in full: the first named gains, the others lose this much (within this score window).
HEAD_SHIFT = 0.08
HEAD_WINDOW = 0.2
# An entry for an age range ("dưới 14 tuổi") when the question gives an age: inside gains, outside loses.
AGE_SHIFT = 0.1
# Share of name coverage a name syllable earns when the question has it apart from its neighbours in the name.
W_ALONE = 0.7
# Below ANSWER_THRESHOLD, an entry whose whole name is in the question is still answered when it leads clearly.
NAMED_THRESHOLD = 0.55
NAMED_MARGIN = 0.1
FULL_NAME_COVERAGE = 0.95
# An answer also needs a lead over the runner-up: two entries that fit as well are a question to ask.
ANSWER_MARGIN = 0.06

# Field weights of the lexical index: a hit in a name counts fully, elsewhere less.
W_NAME = 1.0
W_FAQ = 0.5
W_FIELD = 0.45
W_SUMMARY = 0.25
# Weight of a question word that is part of an aspect cue ("lệ phí", "ở đâu"): it says what is asked,
# not which procedure.
W_CUE = 0.25
# A word typed with diacritics that the knowledge base only has with other diacritics ("mưa" vs "mua"):
# maybe a slip of the finger, more likely another word.
W_ACCENT_MISMATCH = 0.3
# An unknown word counts against every entry: it is content that nothing in the knowledge base explains.
W_UNKNOWN = 0.6
# A word corrected to a known one by fuzzy matching counts a little less than a word spelled right.
W_CORRECTED = 0.8
FUZZY_CUTOFF = 80.0
TOP_K = 12
COMMON_MIN_DF = 100

COMBINE = (0.50, 0.35, 0.15)  # query coverage, name coverage, fuzzy similarity
# The question is exactly one of the entry's names (title or alias), nothing more, nothing less: the editors
# named this entry for these words, so it is preferred over entries that merely contain them.
EXACT_NAME_BONUS = 0.08
# A general entry answers a kind of question ("... ở đâu" is the address, "mấy giờ" the hours): when the
# aspect asked is one its own names ask, that is evidence for it.
GENERAL_ASPECT_BONUS = 0.1
# Only a clear cue in a general entry's name says which kind of question it answers ("... được không" does not).
GENERAL_CUE_MIN = 2.0
WEAK_CUE = 2.0
_NOT_GENERAL_ASPECTS = frozenset({"overview", "conditions"})
# An answer names a procedure: at least this share of one of its names must be in the question.
MIN_NAME_COVERAGE = 0.6

# Long messages: a story, then the question. Words of the sentences that do not ask weigh this much for
# finding the procedure (and this much when they cover an entry's name: a story often names it).
W_STORY = 0.25
W_STORY_NAME = 0.85
MAX_QUESTION_CHARS = 1500
# ... and at most this many words of it are read (the asking sentences first, then the story nearest them).
MAX_WORDS = 80
# A word the knowledge base says rules an entry out ("nước ngoài" for the domestic marriage) costs this much.
RULED_OUT_SHIFT = 0.3
# A word of a sibling's own features ("bị mất", "người nước ngoài") in the question gains it this much.
MARK_SHIFT = 0.06
# Siblings within this window of the best are decided by the family's knowledge (default, features, question).
FAMILY_WINDOW = 0.2
FAMILY_MIN_COVERAGE = 0.8
FAMILY_MARKED_COVERAGE = 0.5  # ... when the question names a member's feature ("hết hạn", "người Nhật")
# Dominance: what only the best explains must be this many times what only a rival explains.
DOMINANT_MIN = 0.5
DOMINANCE = 0.5
FAMILY_MIN_SCORE = 0.55
# A sibling that leads the family's ordinary case by this much is answered instead of it.
DEFAULT_MARGIN = 0.1

# Words of a follow-up that name nothing ("còn lệ phí thì sao?", "vậy thủ tục đó nộp ở đâu").
_FOLLOW_WORDS = frozenset(
    [
        "còn",
        "thế",
        "vậy",
        "thì",
        "sao",
        "nó",
        "đó",
        "này",
        "ấy",
        "kia",
        "cái",
        "việc",
        "thủ",
        "tục",
        "nữa",
        "luôn",
        "trường",
        "hợp",
        "nếu",
        "làm",
    ]
)
_FOLLOW_FOLDED = frozenset(
    [
        "the",
        "vay",
        "thi",
        "sao",
        "no",
        "do",
        "nay",
        "ay",
        "kia",
        "cai",
        "viec",
        "thu",
        "tuc",
        "nua",
        "luon",
        "truong",
        "hop",
        "neu",
    ]
)

# A follow-up with more than this share of words the knowledge base does not know is another topic.
FOLLOW_UNKNOWN_SHARE = 0.25
FOLLOW_TOPIC_SHARE = 0.5
FOLLOW_OTHER_COVERAGE = 0.6
FOLLOW_OTHER_MARGIN = 0.15
# Comparisons: words that ask how two things differ, and what after "hay" makes it no alternative.
_COMPARE_MARKERS = (("khac", "nhau"), ("khac", "gi"), ("phan", "biet"), ("so", "sanh"), ("khac", "biet"))
_NOT_ALTERNATIVE = frozenset({"khong", "chua", "la"})
COMPARE_COVERAGE = 0.8
COMPARE_WINDOW = 0.25
# The closest entries offered when the knowledge base does not have what is asked.
NEAREST_COUNT = 3
NEAREST_MIN = 0.3
# A sentence that asks on condition of the one before ("Nếu được thì ...", "Trường hợp phải xin ...").
_CONDITIONAL = frozenset({"neu"})

# Folded content words of a greeting or a thank-you with nothing else in it.
_GREETING_WORDS = frozenset({"chao", "buoi", "sang", "trua", "chieu", "toi", "ca", "nha", "shop", "bot"})
_THANKS_WORDS = frozenset({"cam", "on", "nhieu", "rat"})


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked entry with its calibrated score in [0, 1]."""

    entry: Entry
    score: float
    name_coverage: float = 1.0
    ruled_out: bool = False  # the question has a word the knowledge base says rules this entry out

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def title(self) -> str:
        return self.entry.title


@dataclass
class Answer:
    """The matcher's reply to one question."""

    query: str
    outcome: Outcome
    text: str
    entry: Entry | None = None
    aspect: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    department: str | None = None
    greeting: bool = False
    # the conversation after this answer (what a follow-up continues from); None clears it
    context: Conversation | None = None

    @property
    def procedure(self) -> Procedure | None:
        """The procedure answered (None for a general entry, a clarification or a fallback)."""
        return self.entry if isinstance(self.entry, Procedure) else None

    @property
    def general(self) -> GeneralEntry | None:
        """The general entry answered, if that is what was answered."""
        return self.entry if isinstance(self.entry, GeneralEntry) else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    def to_json(self) -> dict[str, Any]:
        """The `motcua ask --json` object of PRODUCT.md."""
        procedure = None
        if self.entry is not None:
            procedure = {"id": self.entry.id, "title": self.entry.title, "department": self.department}
        return {
            "query": self.query,
            "outcome": self.outcome,
            "procedure": procedure,
            "aspect": self.aspect,
            "candidates": [{"id": c.id, "title": c.title, "score": round(c.score, 3)} for c in self.candidates],
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class _Name:
    """A name of an entry prepared for name coverage and fuzzy similarity."""

    words: tuple[tuple[str, str, float], ...]  # (folded, "=" + accented, IDF) of each content word
    mass: float
    text: str
    folded: frozenset[str]
    # words the name has more than once ("nuôi con nuôi"), with how many times: a question that has such a
    # word fewer times covers it only in part ("quyền nuôi con" is not "nuôi con nuôi")
    repeated: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class _Query:
    normalized: Normalized
    cues: list[CueHit]
    aspect: str
    weights: dict[str, float]  # term -> weight in the question (after cue / accent adjustments)
    name_weights: dict[str, float]  # the same, cue words at full weight (they may be part of a name)
    unknown_mass: float
    content: str  # folded content words, for fuzzy similarity
    content_with_cues: str
    content_terms: frozenset[str]
    content_terms_with_cues: frozenset[str]
    positions: dict[str, int]  # folded word -> its first position in the question
    ages: tuple[int, ...] = ()  # ages the question speaks of ("10 tuổi", "sơ sinh" = 0)
    cue_positions: frozenset[int] = frozenset()  # every word of an aspect cue, asking sentence or not
    story: frozenset[int] = frozenset()  # positions of the words of sentences that tell, not ask
    counts: dict[str, int] = field(default_factory=dict)  # folded word -> how many times the question has it


def _repeated(pairs: list[tuple[str, str]]) -> tuple[tuple[str, int], ...]:
    """The words of a name that occur more than once (the same word: "lại" and "lái" are two), as (folded,
    count), in the name's order."""
    counts = Counter(pairs)
    return tuple(
        (folded, counts[(folded, accented)])
        for folded, accented in dict.fromkeys(pairs)
        if counts[(folded, accented)] > 1
    )


def _best(scores: dict[int, float], count: int) -> list[tuple[int, float]]:
    """The `count` best (entry index, score) pairs, best first; equal scores in the entries' order, so that
    which of two tied entries makes the cut never depends on how a dict was filled."""
    pool = heapq.nlargest(count, scores.items(), key=itemgetter(1))
    if len(pool) == count:
        cut = pool[-1][1]
        tied = [item for item in scores.items() if item[1] == cut]
        if len(tied) > 1:
            pool = [item for item in pool if item[1] != cut] + tied
    pool.sort(key=lambda item: (-item[1], item[0]))
    return pool[:count]


def _entry_texts(entry: Entry) -> list[tuple[str, float, bool]]:
    """(text, field weight, is a name) of everything indexed for an entry."""
    texts: list[tuple[str, float, bool]] = [(entry.title, W_NAME, True)]
    texts += [(alias, W_NAME, True) for alias in entry.aliases]
    texts += [(item.q, W_FAQ, False) for item in entry.faq]
    if isinstance(entry, Procedure):
        texts.append((entry.field, W_FIELD, False))
        texts.append((entry.summary, W_SUMMARY, False))
        codes = _form_codes(entry)
        if codes:
            texts.append((codes, W_NAME, True))  # a form code names its procedure as well as a title
    return texts


def _ages(folded: tuple[str, ...]) -> tuple[int, ...]:
    """Ages a text speaks of: "N tuổi" ("dưới N tuổi" is under N, "trên N tuổi" over it), and "sơ sinh" (a
    newborn) as 0."""
    ages = []
    for position, (word, after) in enumerate(zip(folded, folded[1:], strict=False)):
        if after == "tuoi" and word.isdigit():
            before = folded[max(0, position - 2) : position]
            shift = -1 if "duoi" in before or before == ("chua", "du") else (1 if "tren" in before else 0)
            ages.append(max(0, int(word) + shift))
    ages += [0 for word, after in zip(folded, folded[1:], strict=False) if (word, after) == ("so", "sinh")]
    return tuple(ages)


def _age_range(folded: tuple[str, ...]) -> tuple[float, float] | None:
    """The ages an entry is for, from its title: "dưới 14 tuổi" → [0, 14), "từ đủ 14 tuổi" → [14, ∞)."""
    for position, word in enumerate(folded):
        if word.isdigit() and position + 1 < len(folded) and folded[position + 1] == "tuoi":
            before = folded[max(0, position - 2) : position]
            if before[-1:] == ("duoi",):
                return (0.0, float(word))
            if (
                before[-1:] == ("du",)
                or before[-1:] == ("tu",)
                or folded[position + 2 : position + 4] == ("tro", "len")
            ):
                return (float(word), math.inf)
    return None


def _form_codes(procedure: Procedure) -> str:
    """The form codes of a procedure ("Mẫu TK01", "CT01"): citizens name a procedure by its form."""
    codes: list[str] = []
    for form in procedure.forms:
        for code in _FORM_CODE.findall(fold(f"{form.name} {form.code or ''}").lower()):
            if code not in codes:
                codes.append(code)
    return " ".join(codes)


_SYLLABLE = re.compile(r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]+(ng|nh|ch|[cmnpt])?$")
_VOWELS = frozenset("aeiouy")
_FORM_CODE = re.compile(r"\b[a-z]{1,4}\d{1,3}[a-z]?\b")
# Initialisms made from the syllables of entries' names ("đăng ký kết hôn" → "dkkh"): the way citizens
# abbreviate any procedure's name, so every entry gets them without a list to maintain. Runs of 2 to 4
# syllables; a key that is a word of a name, a listed abbreviation or a Vietnamese syllable is dropped.
INITIALISM_MAX = 4
# A short initialism ("cp", "ld", "hdv") is ambiguous: it is only read as a phrase that continues the word
# before it as in a name ("cty cp" → "công ty cổ phần", "giấy phép ld" → "giấy phép lao động", "thẻ hdv");
# from four letters on ("dkkh", "tthn") it is read on its own.
INITIALISM_FREE_MIN = 4


def _add_initialisms(found: dict[str, list[tuple[tuple[str, ...], int]]], name: Normalized) -> None:
    """Add a name's initialisms: each run of 2 to 4 syllables, kept as (the name's words, where the run
    starts). A letter after the first that is a vowel makes a syllable-like key ("tao"): none is kept."""
    words = name.accented
    initials = "".join(word[0] if word[0].isalpha() and word[0] not in _VOWELS else "." for word in name.folded)
    for start, word in enumerate(name.folded):
        first = word[0]
        if not first.isalpha():
            continue
        for end in range(start + 2, min(len(words), start + INITIALISM_MAX) + 1):
            tail = initials[start + 1 : end]
            if "." in tail:
                break
            found.setdefault(first + tail, []).append((words, start))


def _content_pairs(normalized: Normalized) -> list[tuple[str, str]]:
    """(folded, accented) words of knowledge-base text that can identify an entry (particles dropped).

    The knowledge base is written with full diacritics, so the accented stopword list decides.
    """
    return [(f, a) for a, f in zip(normalized.accented, normalized.folded, strict=True) if a not in STOPWORDS]


def _terms(tokens: list[str]) -> set[str]:
    """Syllables and syllable bigrams."""
    terms = set(tokens)
    terms.update(f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return terms


class Matcher:
    """Answers citizens' questions from a knowledge base; build once, then call `ask` (pure, no I/O)."""

    def __init__(self, kb: KnowledgeBase, centre: CentreInfo | None = None, families: Families | None = None) -> None:
        self.kb = kb
        self.centre = centre or CentreInfo()
        # sibling knowledge: given, else the knowledge base's own families.yaml (none without one)
        known = {procedure.id for procedure in kb.procedures}
        self.families = (families if families is not None else load_families(kb)).restricted_to(known)
        self.entries: list[Entry] = [*kb.procedures, *kb.general]
        self._by_id: dict[str, Entry] = {entry.id: entry for entry in self.entries}
        self._position: dict[str, int] = {entry.id: index for index, entry in enumerate(self.entries)}
        # One posting list per term. Terms are folded syllables and bigrams ("giay", "giay_phep"), which
        # match a question typed without diacritics, and syllables with diacritics behind "=" ("=giấy"),
        # which keep "lái" apart from "lại" when the citizen typed them.
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        raw_names: list[list[tuple[list[tuple[str, str]], str, tuple[tuple[str, int], ...]]]] = []
        # Word pairs of each entry's own title and aliases: a cue word inside them ("mai táng phí") is no cue.
        self._own_bigrams: list[frozenset[str]] = []
        self._general_aspects: list[frozenset[str]] = []
        self._ages: list[tuple[float, float] | None] = []
        initialisms: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for index, entry in enumerate(self.entries):
            aspects: set[str] = set()
            own: set[str] = set()
            self._ages.append(_age_range(normalize(entry.title).folded))
            for title in (entry.title, *entry.aliases):
                normalized = normalize(title)
                _add_initialisms(initialisms, normalized)
                own.update(f"{a}_{b}" for a, b in zip(normalized.folded, normalized.folded[1:], strict=False))
                if isinstance(entry, GeneralEntry):
                    aspects.update(
                        hit.aspect
                        for hit in find_cues(normalized.accented, normalized.folded)
                        if hit.strength >= GENERAL_CUE_MIN and hit.aspect not in _NOT_GENERAL_ASPECTS
                    )
            self._general_aspects.append(frozenset(aspects))
            self._own_bigrams.append(frozenset(own))
            names: list[tuple[list[tuple[str, str]], str, tuple[tuple[str, int], ...]]] = []
            weights: dict[str, float] = {}
            for text, weight, is_name in _entry_texts(entry):
                pairs = _content_pairs(normalize(text))
                folded = [f for f, _ in pairs]
                accented = ["=" + a for _, a in pairs]
                terms = folded + accented
                # Bigrams without diacritics only (the syllables already tell "lái" from "lại"), and none from
                # a summary (its words count, not its phrases): a third of the postings, nearly as good.
                if weight > W_SUMMARY:
                    terms += [f"{a}_{b}" for a, b in zip(folded, folded[1:], strict=False)]
                for term in set(terms):
                    weights[term] = weights.get(term, 0.0) + weight
                if is_name and pairs:
                    # repeats as written, not as expanded ("bằng lái" reads "giấy phép lái xe bằng lái")
                    repeated = (
                        _repeated(_content_pairs(normalize(text, expand=False)))
                        if len(set(folded)) < len(folded)  # (most names repeat nothing: no second reading)
                        else ()
                    )
                    names.append((pairs, " ".join(folded), repeated))
            for term, weight in weights.items():
                postings[term].append((index, weight if weight < 1.0 else 1.0))
            raw_names.append(names)
        count = len(self.entries)
        self._postings: dict[str, list[tuple[int, float]]] = dict(postings)
        self._idf: dict[str, float] = {
            term: math.log(1.0 + (count - len(rows) + 0.5) / (len(rows) + 0.5)) for term, rows in postings.items()
        }
        self._idf_unknown = math.log(1.0 + (count + 0.5) / 0.5)
        # Terms most entries have ("cấp", "giấy"): scored for the shortlist only, which keeps a question
        # fast on thousands of entries; their IDF is small, so the shortlist hardly depends on them.
        common_df = max(COMMON_MIN_DF, count // 8)
        self._common: dict[str, dict[int, float]] = {
            term: dict(rows) for term, rows in self._postings.items() if len(rows) > common_df
        }
        self._vocabulary = sorted(
            t for t in self._postings if t[0] != "=" and "_" not in t and len(t) >= 3 and not t.isdigit()
        )
        # a word of a name, a known abbreviation or anything that reads as a Vietnamese syllable ("nat",
        # "mot") is never taken for an initialism
        name_words = {f for names in raw_names for pairs, _, _ in names for f, _ in pairs}
        self._initialisms = {
            key: phrases
            for key, phrases in initialisms.items()
            if key not in name_words
            and key not in ABBREVIATION_KEYS
            and not _SYLLABLE.match(key)
            and len(set(key)) > 1  # "hhh", "kkkk" are laughter
        }
        self._names: list[list[_Name]] = [
            [
                _Name(
                    tuple((f, "=" + a, self._idf.get(f, 0.0)) for f, a in pairs),
                    # summed in a fixed order: a set's order follows the hash seed, and so would the last bits
                    math.fsum(self._idf.get(f, 0.0) for f in sorted({f for f, _ in pairs})),
                    text,
                    frozenset(f for f, _ in pairs),
                    repeated,
                )
                for pairs, text, repeated in names
            ]
            for names in raw_names
        ]
        # sibling knowledge by entry index
        self._family: list[Family | None] = [
            self.families.family_of(entry.id) if isinstance(entry, Procedure) else None for entry in self.entries
        ]
        self._ruled: list[tuple[Phrase, ...]] = [self.families.ruled_out_words(entry.id) for entry in self.entries]
        self._marks: list[tuple[Phrase, ...]] = []
        for entry, family in zip(self.entries, self._family, strict=True):
            option = family.option(entry.id) if family is not None else None
            self._marks.append(option.words if option is not None else ())

    # --- public API ------------------------------------------------------------------------------

    def ask(self, question: str, context: Conversation | None = None) -> Answer:
        """Answer one free-text question; with the conversation's `context`, a follow-up ("còn lệ phí thì
        sao?", "thế còn cho con tôi 10 tuổi?", "người việt" to a question asked) continues from it.
        `Answer.context` is the conversation afterwards."""
        if asks_for_english(question):
            # a request for English names no procedure: the conversation goes on (the bot's language is the
            # chat's business); the procedure's facts stay in Vietnamese
            current = self._by_id.get(context.procedure or "") if context is not None else None
            if isinstance(current, Procedure):
                return self._continue(question, current, context.aspect if context else None)
            return Answer(question, "fallback", render_fallback(self.centre), context=context)
        query = self._prepare(from_english(question) or question if is_english(question) else question)
        greeting = self._greeting(query.normalized)
        if greeting is not None:
            text = render_greeting(self.centre, thanks=greeting)
            return Answer(question, "fallback", text, greeting=True, context=context)
        if context is not None:
            followed = self._follow_up(question, query, context)
            if followed is not None:
                return followed
        answer = self._decide(question, query)
        answer.context = self._context_after(answer, context)
        return answer

    def _decide(self, question: str, query: _Query) -> Answer:
        """The answer to a message on its own."""
        if not query.content_terms and query.unknown_mass == 0.0 and query.cues:
            # Only an aspect ("lệ phí bao nhiêu?") without a procedure: ask which one.
            return self._fallback(question, query.aspect, [], need_procedure=True)
        everything = self._rank(query)
        # an entry the question rules out is never the answer ("thi bằng lái" is no exchange of a licence)
        ranked = [c for c in everything if not c.ruled_out]
        # a comparison names both, whatever one says against the other ("nội địa và quốc tế khác nhau")
        compared = self._comparison(question, query, everything) if everything else None
        if compared is not None:
            return compared
        top = ranked[0] if ranked else None
        if top is None or top.score < CLARIFY_THRESHOLD:
            return self._not_found(question, query, everything)
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        confident = (
            top.score >= ANSWER_THRESHOLD
            and top.score - runner_up >= ANSWER_MARGIN
            and top.name_coverage >= MIN_NAME_COVERAGE
        ) or (
            # a whole name of one entry is in the question and nothing else comes close: the rest of the
            # question is the citizen's story ("vợ em vừa sinh em bé, làm khai sinh ..."), not doubt
            top.score >= NAMED_THRESHOLD
            and top.score - runner_up >= NAMED_MARGIN
            and top.name_coverage >= FULL_NAME_COVERAGE
        )
        if confident:
            aspect = self._aspect_for(query, top.entry)
            return self._answer(question, top.entry, aspect, ranked[:3], query)
        choice = self._family_choice(query, ranked)
        if isinstance(choice, Procedure):
            ordered = [c for c in ranked if c.entry is choice] + [c for c in ranked if c.entry is not choice]
            return self._answer(question, choice, self._aspect_for(query, choice), ordered[:3], query)
        if choice is not None:
            family, options = choice
            return self._ask_family(question, query.aspect, family, options, ranked)
        if self._dominates(query, ranked):
            return self._answer(question, top.entry, self._aspect_for(query, top.entry), ranked[:3], query)
        shortlist = [c for c in ranked[:3] if c.score >= max(CLARIFY_THRESHOLD, top.score - 0.2)]
        return self._clarify(question, query.aspect, shortlist)

    def _evidence(self, index: int, query: _Query) -> dict[str, float]:
        """The question's terms an entry has, with what each contributes (posting lists are in index
        order, so a binary search finds the entry)."""
        found: dict[str, float] = {}
        for term, weight in query.weights.items():
            rows = self._postings.get(term)
            if not rows:
                continue
            at = bisect_left(rows, (index, -1.0))
            if at < len(rows) and rows[at][0] == index:
                found[term] = weight * self._idf[term] * rows[at][1]
        return found

    def _dominates(self, query: _Query, ranked: list[Candidate]) -> bool:
        """The best candidate, close to others in score, has all they have and more: what only it explains
        in the question outweighs by far what only a rival explains (a longer story makes every score
        smaller, not the difference between rivals less telling)."""
        top = ranked[0]
        if top.score < DOMINANT_MIN or top.name_coverage < FULL_NAME_COVERAGE or isinstance(top.entry, GeneralEntry):
            return False
        rivals = [c for c in ranked[1:] if c.score > top.score - NAMED_MARGIN]
        if not rivals:
            return False
        mine = self._evidence(self._position[top.id], query)
        for rival in rivals:
            theirs = self._evidence(self._position[rival.id], query)
            only_mine = sum(value for term, value in mine.items() if term not in theirs)
            only_theirs = sum(value for term, value in theirs.items() if term not in mine)
            if only_mine <= 0.0 or only_theirs > DOMINANCE * only_mine:
                return False
        return True

    # --- siblings --------------------------------------------------------------------------------

    def _features(self, query: _Query, family: Family) -> tuple[set[str], set[str]]:
        """Members of a family the question rules out, and members whose features it names (words of the
        family's options, an age inside the member's range)."""
        ruled: set[str] = set()
        marked: set[str] = set()
        for option in family.options:
            index = self._position.get(option.procedure_id)
            if index is None:
                continue
            ages = self._ages[index]
            if has_any(query.normalized, self._ruled[index]):
                ruled.add(option.procedure_id)
            elif query.ages and ages is not None:
                fits = any(ages[0] <= age < ages[1] for age in query.ages)
                (marked if fits else ruled).add(option.procedure_id)
            elif has_any(query.normalized, option.words):
                marked.add(option.procedure_id)
        return ruled, marked - ruled

    def _family_choice(self, query: _Query, ranked: list[Candidate]) -> Procedure | tuple[Family, list[str]] | None:
        """Between siblings: the member the question's features select, else the family's ordinary case,
        else the family's one question (with the members still possible). None when the best candidates
        are not one family's."""
        top = ranked[0]
        family = self._family[self._position[top.id]]
        if family is None or top.name_coverage < FAMILY_MARKED_COVERAGE or top.score < FAMILY_MIN_SCORE:
            return None
        for candidate in ranked[1:]:
            if candidate.score < top.score - ANSWER_MARGIN:
                break
            if self._family[self._position[candidate.id]] is not family:
                return None  # as close as a sibling, but of something else: the list decides
        ruled, marked = self._features(query, family)
        if top.name_coverage < FAMILY_MIN_COVERAGE and not marked:
            return None  # a name half there, and no feature of a member named: not enough to choose
        members = [m for m in family.members if m in self._by_id]
        alive = [m for m in members if m not in ruled]
        scores = {c.id: c.score for c in ranked}
        if len(marked) == 1:
            return self._procedure(next(iter(marked)))
        if marked:
            best = sorted(marked, key=lambda m: (-scores.get(m, 0.0), members.index(m)))
            if scores.get(best[0], 0.0) - scores.get(best[1], 0.0) >= ANSWER_MARGIN:
                return self._procedure(best[0])
            return family, [m for m in members if m in marked]
        default = family.default if family.default in alive else None
        if (
            default is not None
            and top.id in alive
            and top.id != default
            and top.score - scores.get(default, 0.0) >= DEFAULT_MARGIN
        ):
            return self._procedure(top.id)
        if default is not None:
            return self._procedure(default)
        if len(alive) == 1:
            return self._procedure(alive[0])
        if not alive:
            return None
        return family, alive

    def _procedure(self, procedure_id: str) -> Procedure:
        entry = self._by_id[procedure_id]
        assert isinstance(entry, Procedure)
        return entry

    def _ask_family(
        self, question: str, aspect: str, family: Family, options: list[str], ranked: list[Candidate]
    ) -> Answer:
        """The family's one question, its options as buttons (the list of titles is for when no question
        separates the candidates)."""
        button_aspect = aspect if aspect in ASPECTS else "overview"
        buttons: list[tuple[str, str]] = []
        for member in options:
            option = family.option(member)
            label = option.label if option is not None else button_label(self._by_id[member].title)
            buttons.append((label, f"kb:{member}:{button_aspect}"))
        buttons.append((BUTTON_HUMAN, "menu:human"))
        scores = {c.id: c for c in ranked}
        candidates = [scores.get(m) or Candidate(self._by_id[m], 0.0, 0.0) for m in options]
        candidates.sort(key=lambda c: (-round(c.score, 9), self._position[c.id]))
        answer = Answer(question, "clarify", family.question, None, aspect, candidates[:3], buttons)
        answer.context = Conversation(pending=Pending(tuple(options), button_aspect, family.id))
        return answer

    # --- conversation ----------------------------------------------------------------------------

    def _context_after(self, answer: Answer, before: Conversation | None) -> Conversation | None:
        """What a follow-up continues from after `answer`: the procedure answered, the question asked; a
        general entry leaves the conversation as it was; a message out of scope ends it."""
        if answer.context is not None:
            return answer.context
        if answer.outcome == "answer":
            if isinstance(answer.entry, Procedure):
                return Conversation(answer.entry.id, answer.aspect)
            return before
        if answer.outcome == "clarify":
            ids = tuple(c.id for c in answer.candidates)
            return Conversation(pending=Pending(ids, answer.aspect if answer.aspect in ASPECTS else "overview"))
        if answer.aspect is not None:  # asked for an aspect without naming the procedure
            return before
        return None

    def _own_words(self, query: _Query) -> list[tuple[str, str]]:
        """(accented, folded) words of the message that are neither particles, aspect cues nor the words
        of a follow-up ("còn ... thì sao", "thủ tục đó")."""
        words = []
        for position, (accented, folded) in enumerate(
            zip(query.normalized.accented, query.normalized.folded, strict=True)
        ):
            if position in query.cue_positions or token_weight(accented, folded) == 0.0:
                continue
            if accented in _FOLLOW_WORDS or (accented == folded and folded in _FOLLOW_FOLDED):
                continue
            if position == 0 and accented == folded == "con":  # "con le phi thi sao" is "còn"
                continue
            if folded.isdigit():
                continue
            words.append((accented, folded))
        return words

    def _follow_up(self, question: str, query: _Query, context: Conversation) -> Answer | None:
        """The answer when the message continues the conversation; None when it stands on its own.

        A reply to the question asked picks its option; a message with nothing of its own ("còn lệ phí thì
        sao?") asks about the procedure last answered; a variant ("nếu là người nước ngoài thì sao") moves
        to the sibling it selects; a message that names another procedure is about that one; a question
        about an aspect with words the knowledge base knows stays with the procedure; the rest stands alone
        (and a message out of scope ends the conversation)."""
        asked = query.aspect if query.cues else None
        if context.pending is not None:
            picked = self._pick_pending(query, context.pending)
            if picked is not None:
                return self._continue(question, picked, asked or context.pending.aspect)
        own = self._own_words(query)
        current = self._by_id.get(context.procedure or "")
        if not own:
            if isinstance(current, Procedure):
                return self._continue(question, current, asked or context.aspect or "overview")
            if context.pending is not None and asked is not None:
                # an aspect for the question still open: ask it again, for that aspect
                return self._reask(question, context.pending, asked)
            return None
        if not isinstance(current, Procedure):
            return None
        variant = self._variant(query, current)
        alone = self._decide(question, query)
        index = self._position[current.id]
        if variant is None and self._ruled[index] and has_any(query.normalized, self._ruled[index]):
            alone.context = self._context_after(alone, context)
            return alone  # the message rules the procedure out: whatever it is about, not that one
        if variant is not None and (alone.outcome != "answer" or alone.entry is None or alone.entry.id == variant):
            # a variant without an aspect of its own is a new case: its overview first
            return self._continue(question, self._procedure(variant), asked or "overview")
        if alone.outcome == "answer" and isinstance(alone.entry, Procedure):
            alone.context = self._context_after(alone, context)
            return alone  # names a procedure: that one
        ranked = self._rank(query)
        named = next((c for c in ranked if isinstance(c.entry, Procedure)), None)
        mine = next((c.score for c in ranked if c.id == current.id), 0.0)
        names_other = (
            named is not None
            and named.id != current.id
            and self._family[self._position[named.id]] is not self._family[self._position[current.id]]
            and (
                named.name_coverage >= FULL_NAME_COVERAGE
                # "... có được trợ cấp tuất không" after "trợ cấp xã hội": another procedure fits far better
                or (named.name_coverage >= FOLLOW_OTHER_COVERAGE and named.score >= mine + FOLLOW_OTHER_MARGIN)
            )
        )
        if not names_other and (query.cues or self._asks(question, query)) and self._on_topic(current, own):
            # "phí đo đạc hết bao nhiêu", "có phải đưa cháu đến tận nơi không": about the same procedure
            return self._continue(question, current, asked or context.aspect)
        if alone.outcome == "answer":
            alone.context = self._context_after(alone, context)
            return alone
        if not names_other and self._known(own) and all(self._mentions(current, folded) for _, folded in own):
            return self._continue(question, current, asked or context.aspect)
        alone.context = self._context_after(alone, context)
        return alone

    def _variant(self, query: _Query, current: Procedure) -> str | None:
        """The sibling of `current` the message's features select ("người nước ngoài", "10 tuổi"), if any."""
        family = self._family[self._position[current.id]]
        if family is None:
            return None
        ruled, marked = self._features(query, family)
        variant = next((m for m in family.members if m in marked and m in self._by_id), None)
        if variant is None and current.id in ruled and family.default not in ruled and family.default in self._by_id:
            # The message rules the current sibling out without selecting another: only the family's ordinary
            # case may take over. A sibling that is merely not ruled out is no answer ("nhập quốc tịch cho người
            # nước ngoài" after "đăng ký tạm trú" is not "xóa đăng ký tạm trú").
            variant = family.default
        return variant if variant != current.id else None

    @staticmethod
    def _asks(question: str, query: _Query) -> bool:
        return is_asking(question, query.normalized.accented, query.normalized.folded)

    def _on_topic(self, current: Entry, own: list[tuple[str, str]]) -> bool:
        """Whether a message's own words fit the procedure in the conversation: words the knowledge base
        knows, most of them words the procedure itself speaks of ("phí đo đạc" after "tách thửa"; not
        "công ty nợ lương, kiện ở đâu" after "trợ cấp thất nghiệp")."""
        if not self._known(own):
            return False
        mentioned = sum(self._mentions(current, folded) for _, folded in own)
        return len(own) <= 1 or mentioned >= FOLLOW_TOPIC_SHARE * len(own)

    def _known(self, own: list[tuple[str, str]]) -> bool:
        """Whether the message's own words are words the knowledge base knows (a follow-up, not another
        topic: "phí đo đạc" is, "giá vàng" is not)."""
        unknown = sum(folded not in self._idf for _, folded in own)
        return unknown <= FOLLOW_UNKNOWN_SHARE * len(own)

    def _mentions(self, entry: Entry, folded: str) -> bool:
        index = self._position[entry.id]
        return any(item[0] == index for item in self._postings.get(folded, ()))

    def _continue(self, question: str, entry: Entry, aspect: str | None) -> Answer:
        """Answer `entry` for a follow-up, for the aspect asked (else the one asked before)."""
        aspect = aspect if aspect in ASPECTS else "overview"
        answer = self._answer(question, entry, aspect, [Candidate(entry, 1.0)], None)
        answer.context = Conversation(entry.id, answer.aspect) if isinstance(entry, Procedure) else None
        return answer

    def _reask(self, question: str, pending: Pending, aspect: str) -> Answer:
        entries = [self._by_id[i] for i in pending.ids if i in self._by_id]
        candidates = [Candidate(entry, 0.0, 0.0) for entry in entries]
        family = self.families.family(pending.family)
        if family is not None:
            return self._ask_family(question, aspect, family, [c.id for c in candidates], candidates)
        answer = self._clarify(question, aspect, candidates)
        answer.context = Conversation(pending=Pending(pending.ids, aspect))
        return answer

    def _pick_pending(self, query: _Query, pending: Pending) -> Entry | None:
        """The entry a typed reply picks out of a clarifying question: an option's words ("người việt",
        "dưới 14"), the words of one option's label ("mất" for "Cấp lại vì bị mất"), or the best of the
        offered entries when the reply names it."""
        offered = [i for i in pending.ids if i in self._by_id]
        family = self.families.family(pending.family)
        if family is not None:
            ruled, marked = self._features(query, family)
            marked &= set(offered)
            if len(marked) == 1:
                return self._by_id[next(iter(marked))]
            own = {folded for _, folded in self._own_words(query)}
            if own:
                fitting = [
                    option.procedure_id
                    for option in family.options
                    if option.procedure_id in offered
                    and option.procedure_id not in ruled
                    and own <= set(normalize(option.label).folded)
                ]
                if len(fitting) == 1:
                    return self._by_id[fitting[0]]
        ranked = [c for c in self._rank(query) if c.id in offered and not c.ruled_out]
        if (
            ranked
            and ranked[0].score >= CLARIFY_THRESHOLD * 0.8
            and (len(ranked) == 1 or ranked[0].score - ranked[1].score >= ANSWER_MARGIN)
        ):
            return ranked[0].entry
        return None

    def answer_aspect(self, entry_id: str, aspect: str) -> Answer:
        """The answer for a button press (payload `kb:<id>:<aspect>`); fallback when the id is unknown."""
        entry = self._by_id.get(entry_id)
        if entry is None or aspect not in ASPECTS:
            return self._fallback(f"kb:{entry_id}:{aspect}", None, [])
        return self._answer(f"kb:{entry_id}:{aspect}", entry, aspect, [Candidate(entry, 1.0)], None)

    # --- query analysis --------------------------------------------------------------------------

    def _phrases(self, key: str) -> list[tuple[str, ...]]:
        """The name phrases an initialism stands for, the most used first."""
        counts: dict[tuple[str, ...], int] = {}
        for words, start in self._initialisms[key]:
            phrase = words[start : start + len(key)]
            counts[phrase] = counts.get(phrase, 0) + 1
        return sorted(counts, key=lambda phrase: -counts[phrase])

    def _expand_initialisms(self, normalized: Normalized) -> Normalized:
        """Read unknown words typed as initialisms of a name phrase ("dkkh", "tthn", "cty cp")."""
        folded = normalized.folded
        if not any(f in self._initialisms for f in folded):
            return normalized
        accented: list[str] = []
        for position, (word, plain) in enumerate(zip(normalized.accented, folded, strict=True)):
            phrases = self._initialisms.get(plain) if word == plain else None
            chosen = None
            ordered = self._phrases(plain) if phrases else []
            for phrase in ordered:
                if position > 0 and f"{folded[position - 1]}_{fold(phrase[0])}" in self._idf:
                    chosen = phrase  # the phrase continues the word before it as in a name
                    break
            if chosen is None and ordered and len(plain) >= INITIALISM_FREE_MIN:
                chosen = ordered[0]
            accented.extend(chosen or (word,))
        return Normalized(tuple(accented), tuple(fold(word) for word in accented))

    def _read(self, question: str) -> tuple[Normalized, list[float] | None, list[CueHit], list[CueHit]]:
        """The message normalised, the weight of each word's sentence (None when every sentence counts
        alike), every aspect cue, and the cues of the sentences that ask.

        In a story followed by a question, the sentences that ask say what the citizen wants; the story's
        nouns only help. With one sentence, or when every sentence asks, all words count alike."""
        text = question[:MAX_QUESTION_CHARS]
        parts = split_sentences(text) or [text]
        if len(parts) == 1:
            whole = self._expand_initialisms(normalize(text))
            found = find_cues(whole.accented, whole.folded)
            return whole, None, found, [*found, *self._yes_no(text, 0)]
        norms = [self._expand_initialisms(normalize(part)) for part in parts]
        asking = [is_asking(part, n.accented, n.folded) for part, n in zip(parts, norms, strict=True)]
        story = any(asking) and not all(asking)
        if story and sum(len(n.accented) for n in norms) > MAX_WORDS:
            parts, norms, asking = self._within_budget(parts, norms, asking)
        accented: list[str] = []
        folded: list[str] = []
        factors: list[float] = []
        cues: list[CueHit] = []
        asked: list[list[CueHit]] = []
        conditional: list[bool] = []
        for raw, part, asks in zip(parts, norms, asking, strict=True):
            offset = len(accented)
            hits = [
                CueHit(hit.aspect, hit.strength, hit.start + offset, hit.end + offset)
                for hit in find_cues(part.accented, part.folded)
            ]
            cues += hits
            if asks:
                asked.append([*hits, *self._yes_no(raw, offset)])
                conditional.append(bool(_CONDITIONAL & set(part.folded[:3])))
            accented += part.accented
            folded += part.folded
            factors += [1.0 if asks or not story else W_STORY] * len(part.accented)
        normalized = Normalized(tuple(accented), tuple(folded))
        return normalized, factors if story else None, cues, rank_sentences(asked, conditional) or cues

    @staticmethod
    def _within_budget(
        parts: list[str], norms: list[Normalized], asking: list[bool]
    ) -> tuple[list[str], list[Normalized], list[bool]]:
        """A long story is cut to `MAX_WORDS`: the sentences that ask, then the story sentences nearest to
        the first of them (what a story says just before its question matters most), in their order."""
        first = asking.index(True)
        order = [i for i, asks in enumerate(asking) if asks]
        order += sorted((i for i, asks in enumerate(asking) if not asks), key=lambda i: (abs(i - first), i))
        kept: set[int] = set()
        used = 0
        for i in order:
            size = len(norms[i].accented)
            if used + size > MAX_WORDS and kept:
                continue
            kept.add(i)
            used += size
        chosen = sorted(kept)
        return [parts[i] for i in chosen], [norms[i] for i in chosen], [asking[i] for i in chosen]

    def _yes_no(self, sentence: str, offset: int) -> list[CueHit]:
        """The yes/no cue of the first clause of a sentence that is a yes/no question ("có được làm căn
        cước không, thủ tục thế nào?" asks first whether one may)."""
        position = offset
        for clause in sentence.split(","):
            words = self._expand_initialisms(normalize(clause))
            hit = yes_no_cue(words.accented, words.folded, position)
            if hit is not None:
                return [hit]
            position += len(words.accented)
        return []

    def _prepare(self, question: str) -> _Query:
        normalized, factors, all_cues, cues = self._read(question)
        cue_positions = {position for hit in all_cues for position in range(hit.start, hit.end)}
        # (term, weight, typed with diacritics that the knowledge base has) per useful word
        words: list[tuple[str, str, float, bool]] = []
        plains: list[float] = []
        told: list[bool] = []  # the word is a story's, not the asking sentence's
        unknown_mass = 0.0
        tokens = [
            (position, accented, folded, token_weight(accented, folded))
            for position, (accented, folded) in enumerate(zip(normalized.accented, normalized.folded, strict=True))
        ]
        # A particle typed without diacritics that forms a phrase of the knowledge base with its neighbour is
        # that phrase's word: "duoc si" is "dược sĩ", "cong ty co phan" is "cổ phần", not "được" / "có".
        folded_all = normalized.folded
        tokens = [
            (position, accented, folded, 1.0)
            if weight == 0.0
            and accented == folded
            and position not in cue_positions
            and (
                (position > 0 and f"{folded_all[position - 1]}_{folded}" in self._idf)
                or (position + 1 < len(folded_all) and f"{folded}_{folded_all[position + 1]}" in self._idf)
            )
            else (position, accented, folded, weight)
            for position, accented, folded, weight in tokens
        ]
        tokens = [token for token in tokens if token[3] > 0.0]
        for index, (position, accented, folded, weight) in enumerate(tokens):
            # An ambiguous word typed without diacritics ("thuoc la", "can cuoc") is settled by its neighbour
            # when the pair is a phrase of the knowledge base.
            if weight < 1.0 and (
                (index > 0 and f"{tokens[index - 1][2]}_{folded}" in self._idf)
                or (index + 1 < len(tokens) and f"{folded}_{tokens[index + 1][2]}" in self._idf)
            ):
                weight = 1.0
            in_cue = position in cue_positions
            factor = 1.0 if factors is None else factors[position]
            # what the word weighs when it is part of an entry's name, cue or not
            plain = weight if factor == 1.0 else weight * W_STORY_NAME
            weight *= factor
            if in_cue:
                weight *= W_CUE
            if folded.isdigit():
                weight *= 0.3
            appended = len(words)
            if folded not in self._idf:
                # Only words typed without diacritics are spelling-corrected: a word typed with them is
                # most likely a real word we do not have ("nguội" is not "nuôi").
                # (nor a story's words: they hardly count, and correcting costs)
                corrected = None if in_cue or accented != folded or factor < 1.0 else self._correct(folded)
                if corrected is None:
                    # content nothing in the knowledge base explains (a cue word is explained: it is the aspect)
                    unknown_mass += 0.0 if in_cue else weight * W_UNKNOWN * self._idf_unknown
                    continue
                words.append((corrected, corrected, weight * W_CORRECTED, False))
                plains.append(plain * W_CORRECTED)
            elif accented == folded:
                words.append((folded, accented, weight, False))
                plains.append(plain)
            elif "=" + accented in self._idf:
                words.append((folded, accented, weight, True))
                plains.append(plain)
            else:  # typed with other diacritics than any word we know: "mưa" is not "mua"
                words.append((folded, accented, weight * W_ACCENT_MISMATCH, False))
                plains.append(plain * W_ACCENT_MISMATCH)
                # the rest of it is content the knowledge base does not explain ("nhân thọ" is not ours)
                if not in_cue:
                    unknown_mass += weight * (1.0 - W_ACCENT_MISMATCH) * W_UNKNOWN * self._idf_unknown
            if len(words) > appended:
                told.append(factor < 1.0)
        # where each word is, in the asking sentences first: a name the question asks about is placed there
        positions: dict[str, int] = {}
        story = {i for i, factor in enumerate(factors or ()) if factor < 1.0}
        for position, folded in enumerate(normalized.folded):
            if position not in story:
                positions.setdefault(folded, position)
        for position, folded in enumerate(normalized.folded):
            positions.setdefault(folded, position)
        weights: dict[str, float] = {}
        for folded, accented, weight, exact in words:
            term = "=" + accented if exact else folded
            weights[term] = max(weights.get(term, 0.0), weight)
        for (f1, _, w1, _), (f2, _, w2, _) in zip(words, words[1:], strict=False):
            bigram = f"{f1}_{f2}"
            if bigram in self._idf:
                weights[bigram] = max(weights.get(bigram, 0.0), min(w1, w2))
        name_weights: dict[str, float] = {}
        for (folded, accented, _, exact), plain in zip(words, plains, strict=True):
            term = "=" + accented if exact else folded
            name_weights[term] = max(name_weights.get(term, 0.0), plain)
        content = [folded for folded, _, weight, _ in words if weight >= 0.5]
        # fuzzy similarity compares names with what is asked, not with the story around it
        content_with_cues = [
            w[0] for w, plain, story in zip(words, plains, told, strict=True) if plain >= 0.5 and not story
        ]
        return _Query(
            normalized=normalized,
            cues=cues,
            aspect=choose_aspect(cues),
            weights=weights,
            name_weights=name_weights,
            unknown_mass=unknown_mass,
            content=" ".join(content),
            content_with_cues=" ".join(content_with_cues),
            content_terms=frozenset(content),
            content_terms_with_cues=frozenset(content_with_cues),
            positions=positions,
            ages=_ages(normalized.folded),
            cue_positions=frozenset(cue_positions),
            story=frozenset(story),
            counts=dict(Counter(normalized.folded)),
        )

    def _correct(self, token: str) -> str | None:
        """The known syllable a misspelt one was meant to be, if one is close enough."""
        if len(token) < 4 or token.isdigit():
            return None
        found = process.extractOne(token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else None

    @staticmethod
    def _greeting(normalized: Normalized) -> bool | None:
        """None if not a greeting; False for a greeting ("xin chào"), True for thanks ("cảm ơn ạ")."""
        words = {f for a, f in zip(normalized.accented, normalized.folded, strict=True) if token_weight(a, f) > 0.0}
        if not words:
            return None
        if words <= _THANKS_WORDS:
            return True
        if "chao" in words and words <= _GREETING_WORDS:
            return False
        return None

    # --- ranking ---------------------------------------------------------------------------------

    def _rank(self, query: _Query) -> list[Candidate]:
        total = query.unknown_mass
        scores: dict[int, float] = defaultdict(float)
        common: list[tuple[str, float]] = []
        for term, weight in query.weights.items():
            mass = weight * self._idf[term]
            total += mass
            if term in self._common:
                common.append((term, mass))  # added below, for the shortlist only
                continue
            for index, doc_weight in self._postings[term]:
                scores[index] += mass * doc_weight
        if not scores:  # only words that most entries have: score them all after all
            for term, mass in common:
                for index, doc_weight in self._postings[term]:
                    scores[index] += mass * doc_weight
            common = []
        if total <= 0.0 or not scores:
            return []
        pool = _best(scores, TOP_K * 3 if common else TOP_K)
        if common:
            pool = [
                (index, raw + sum(mass * self._common[term].get(index, 0.0) for term, mass in common))
                for index, raw in pool
            ]
            pool = _best(dict(pool), TOP_K)
        ranked = []
        spans: list[tuple[int, int]] = []
        for index, raw in pool:
            coverage = raw / total
            name_coverage, similarity, exact, span = self._name_signals(index, query)
            score = COMBINE[0] * coverage + COMBINE[1] * name_coverage + COMBINE[2] * similarity
            if query.aspect in self._general_aspects[index]:
                score += GENERAL_ASPECT_BONUS
                name_coverage = min(1.0, name_coverage + 0.25)  # the aspect words name it too
            score = (score + EXACT_NAME_BONUS * exact) / (1.0 + EXACT_NAME_BONUS)
            ages = self._ages[index]
            if query.ages and ages is not None:
                # "con em 10 tuổi" fits "dưới 14 tuổi", not "từ đủ 14 tuổi trở lên"
                fits = any(ages[0] <= age < ages[1] for age in query.ages)
                score += AGE_SHIFT if fits else -AGE_SHIFT
            ruled = bool(self._ruled[index]) and has_any(query.normalized, self._ruled[index])
            if ruled:
                score -= RULED_OUT_SHIFT  # "kết hôn với người Hàn Quốc" is not the domestic marriage
            elif self._marks[index] and has_any(query.normalized, self._marks[index]):
                score += MARK_SHIFT  # "... bị mất" speaks for the sibling that is about a lost one
            ranked.append(Candidate(self.entries[index], min(1.0, score), name_coverage, ruled))
            spans.append(span)
        self._prefer_head(ranked, spans, query.story)
        # a stable order: scores rounded past float noise, then the entry's place in the knowledge base
        ranked.sort(key=lambda candidate: (-round(candidate.score, 9), self._position[candidate.id]))
        return ranked

    @staticmethod
    def _prefer_head(ranked: list[Candidate], spans: list[tuple[int, int]], story: frozenset[int]) -> None:
        """When a question names two entries in full, in separate places, the first named in a sentence that
        asks is what is asked about and the others something it involves ("giấy phép lao động ... có bắt
        buộc lý lịch tư pháp không"; a story's "đã làm giấy khai sinh" before "làm hộ chiếu mất bao lâu?"):
        that one gains, the others lose a little."""
        best = max((candidate.score for candidate in ranked), default=0.0)
        named = sorted(
            ((spans[position][0] in story, spans[position]), position)
            for position, candidate in enumerate(ranked)
            if candidate.name_coverage >= FULL_NAME_COVERAGE and best - candidate.score <= HEAD_WINDOW
        )
        if len(named) < 2:
            return
        (_, (first_start, first_end)), head = named[0]
        later = [position for (_, (start, end)), position in named[1:] if start > first_end or end < first_start]
        if not later:
            return
        for position, shift in [(head, HEAD_SHIFT), *((p, -HEAD_SHIFT) for p in later)]:
            candidate = ranked[position]
            ranked[position] = Candidate(
                candidate.entry,
                min(1.0, max(0.0, candidate.score + shift)),
                candidate.name_coverage,
                candidate.ruled_out,
            )

    def _name_signals(self, index: int, query: _Query) -> tuple[float, float, bool, tuple[int, int]]:
        """Best share of a name found in the question, best fuzzy similarity, whether a name is exact, and
        where in the question the best-covered name starts and ends.

        A name word counts as much as the question's word that matches it weighs (a particle-like "bao"
        in "bao nhiêu" hardly covers "báo" in "trình báo").
        """
        query_terms = query.name_weights
        bigrams = query.weights
        contents = [c for c in {query.content, query.content_with_cues} if c]
        best_coverage = 0.0
        best_similarity = 0.0
        exact = False
        span = (len(query.normalized.folded), -1)
        for name in self._names[index]:
            found: dict[str, float] = {}
            joined: dict[str, float] = {}
            words = name.words
            for position, (folded, accented_key, _) in enumerate(words):
                weight = query_terms.get(accented_key) or query_terms.get(folded)
                if weight and weight > found.get(folded, 0.0):
                    found[folded] = weight
                    # a syllable found apart from its neighbours in the name ("nhân" of "nhân viên" in
                    # "bảo hiểm nhân thọ") is weak evidence: Vietnamese words are mostly two syllables
                    alone = len(words) > 1 and not (
                        (position > 0 and f"{words[position - 1][0]}_{folded}" in bigrams)
                        or (position + 1 < len(words) and f"{folded}_{words[position + 1][0]}" in bigrams)
                    )
                    joined[folded] = weight * (W_ALONE if alone else 1.0)
            if not found:
                continue  # nothing in common: neither coverage nor similarity to speak of
            for folded, times in name.repeated:
                if folded in joined:
                    joined[folded] *= min(1.0, query.counts.get(folded, 0) / times)
            if name.mass > 0.0:
                covered = sum(self._idf.get(f, 0.0) * min(1.0, weight) for f, weight in joined.items())
                if covered / name.mass > best_coverage:
                    best_coverage = covered / name.mass
                    places = [query.positions[f] for f in found if f in query.positions]
                    span = (min(places), max(places)) if places else span
            exact = exact or (
                len(found) == len(name.folded) and name.folded in (query.content_terms, query.content_terms_with_cues)
            )
            for content in contents:
                # token_set_ratio forgives extra words, token_sort_ratio does not: half of each
                similarity = fuzz.token_set_ratio(content, name.text) + fuzz.token_sort_ratio(content, name.text)
                best_similarity = max(best_similarity, similarity / 200.0)
        return best_coverage, best_similarity, exact, span

    def _aspect_for(self, query: _Query, entry: Entry) -> str:
        """The aspect asked, ignoring cue words that belong to the entry's own name ("hỗ trợ mai táng phí",
        "cơ sở đủ điều kiện ...") — a cue is part of the name when it is joined to a neighbouring word as
        in one of the entry's names."""
        if isinstance(entry, GeneralEntry):
            return "overview"
        joined = self._own_bigrams[self._index_of(entry)]
        folded = query.normalized.folded
        kept = [
            hit
            for hit in query.cues
            if not (
                (hit.start > 0 and f"{folded[hit.start - 1]}_{folded[hit.start]}" in joined)
                or (hit.end < len(folded) and f"{folded[hit.end - 1]}_{folded[hit.end]}" in joined)
            )
        ]
        return choose_aspect(kept)

    def _index_of(self, entry: Entry) -> int:
        return self._position[entry.id]

    # --- replies ---------------------------------------------------------------------------------

    def _department(self, entry: Entry) -> str:
        if isinstance(entry, Procedure):
            return self.kb.department_name(entry.department)
        return self.centre.name

    def _answer(
        self, question: str, entry: Entry, aspect: str, candidates: list[Candidate], query: _Query | None
    ) -> Answer:
        department = self._department(entry)
        if isinstance(entry, GeneralEntry):
            text = render_general(entry, self.centre)
            return Answer(question, "answer", text, entry, "overview", candidates, [], department)
        lead = None
        if query is not None and (aspect == "overview" or self._weak_aspect(query, aspect)):
            lead = self._faq_lead(entry, query)
            if lead is not None:
                aspect = "overview"  # the FAQ answers the very question; a weak cue ("được không") does not
        text = render_procedure(entry, aspect, department, lead)
        buttons = [
            (ASPECT_LABELS[other], f"kb:{entry.id}:{other}")
            for other in ASPECTS
            if other != aspect and self._has_aspect(entry, other)
        ]
        return Answer(question, "answer", text, entry, aspect, candidates, buttons, department)

    @staticmethod
    def _weak_aspect(query: _Query, aspect: str) -> bool:
        """The aspect was read from weak cues only, or from the form of a yes/no question ("... được không")."""
        return (
            max((hit.strength for hit in query.cues if hit.aspect == aspect and not hit.yes_no), default=0.0) < WEAK_CUE
        )

    def _faq_lead(self, entry: Entry, query: _Query) -> str | None:
        """An FAQ answer to lead with, when the question is (nearly) that FAQ question."""
        best: tuple[float, str] | None = None
        for item in entry.faq:
            question = " ".join(normalize(item.q).folded)
            similarity = fuzz.ratio(" ".join(query.normalized.folded), question)
            if similarity >= 85.0 and (best is None or similarity > best[0]):
                best = (similarity, item.a)
        return best[1] if best else None

    @staticmethod
    def _has_aspect(procedure: Procedure, aspect: str) -> bool:
        if aspect == "conditions":
            return bool(procedure.conditions)
        if aspect == "forms":
            return bool(procedure.forms)
        return True

    def _clarify(self, question: str, aspect: str, shortlist: list[Candidate]) -> Answer:
        button_aspect = aspect if aspect in ASPECTS else "overview"
        buttons = [
            (
                button_label(c.title),
                f"kb:{c.id}:{button_aspect if isinstance(c.entry, Procedure) else 'overview'}",
            )
            for c in shortlist
        ]
        buttons.append((BUTTON_HUMAN, "menu:human"))
        text = render_clarify(aspect, len(shortlist))
        return Answer(question, "clarify", text, None, aspect, shortlist, buttons)

    def _not_found(self, question: str, query: _Query, ranked: list[Candidate]) -> Answer:
        """Nothing fits well enough. A question about a procedure is told plainly that the knowledge base
        does not have it, with the closest entries as buttons (never answered), the hotline and an officer."""
        nearest = [c for c in ranked[:NEAREST_COUNT] if c.score >= NEAREST_MIN]
        if not nearest or not (query.cues or self._asks(query.normalized.text, query)):
            return self._fallback(question, None, [c for c in ranked[:3] if c.score >= 0.2])
        buttons = [
            (button_label(c.title), f"kb:{c.id}:{query.aspect if isinstance(c.entry, Procedure) else 'overview'}")
            for c in nearest
        ]
        buttons += [(BUTTON_HOTLINE, "menu:hotline"), (BUTTON_HUMAN, "menu:human")]
        return Answer(question, "fallback", render_not_in_kb(self.centre), None, None, nearest, buttons)

    def _comparison(self, question: str, query: _Query, ranked: list[Candidate]) -> Answer | None:
        """ "X hay Y", "A và B khác nhau chỗ nào": the asked aspect of both named procedures side by side."""
        folded = query.normalized.folded
        marked = any(
            folded[i : i + len(marker)] == marker for marker in _COMPARE_MARKERS for i in range(len(folded))
        ) or any(
            word == "hay" and 0 < i < len(folded) - 1 and folded[i + 1] not in _NOT_ALTERNATIVE
            for i, word in enumerate(folded)
        )
        if not marked:
            return None
        top = ranked[0].score
        named = [
            c
            for c in ranked[:4]
            if isinstance(c.entry, Procedure)
            and c.name_coverage >= COMPARE_COVERAGE
            and c.score >= max(CLARIFY_THRESHOLD, top - COMPARE_WINDOW)
        ]
        if len(named) < 2:
            return None
        first, second = named[0], named[1]
        # "khác nhau chỗ nào", "khác nhau ở đâu" ask how they differ, not where
        ends = {
            i + len(marker)
            for marker in _COMPARE_MARKERS
            for i in range(len(folded))
            if folded[i : i + len(marker)] == marker
        }
        kept = [hit for hit in query.cues if hit.aspect != "overview" and hit.start not in ends]
        aspect = choose_aspect(kept) if kept else "overview"
        pairs = []
        for candidate in (first, second):
            procedure = candidate.entry
            assert isinstance(procedure, Procedure)
            pairs.append((procedure, brief(procedure, aspect, self._department(procedure))))
        buttons = [(button_label(c.title), f"kb:{c.id}:{aspect}") for c in (first, second)]
        answer = Answer(
            question,
            "answer",
            render_comparison(pairs, aspect),
            first.entry,
            aspect,
            [first, second],
            buttons,
            self._department(first.entry),
        )
        answer.context = Conversation(first.id, aspect, Pending((first.id, second.id), aspect))
        return answer

    def _fallback(
        self, question: str, aspect: str | None, candidates: list[Candidate], need_procedure: bool = False
    ) -> Answer:
        if need_procedure and aspect is not None:
            text = render_need_procedure(self.centre, aspect)
        else:
            text = render_fallback(self.centre)
        buttons = [(BUTTON_HOTLINE, "menu:hotline"), (BUTTON_HUMAN, "menu:human")]
        return Answer(question, "fallback", text, None, aspect if need_procedure else None, candidates, buttons)


__all__ = ["ANSWER_THRESHOLD", "CLARIFY_THRESHOLD", "Answer", "Candidate", "Matcher", "Outcome"]
