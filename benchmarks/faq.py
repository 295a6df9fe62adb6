"""FAQ matcher benchmark: accuracy on the dev questions, latency, and index build time at scale.

Run `python -m benchmarks.faq [FILE.tsv ...] [--set FILE.tsv] [--kb PATH] [--scale N] [--verbose]`.

Every set is reported separately: the dev questions, the tune sets in benchmarks/data (real questions and
dialogues), the project's older held-out set, and any file given. A file with `dialogue` and `turn` columns
is a set of conversations: its turns are asked in order with the conversation's context, and its follow-up
score counts the turns after the first that get the right procedure (answered) and the right aspect.

Scoring of a row (see shared/eval/README.md):
* `expect` alternatives are matched against the answered title lowercased, without diacritics (đ → d);
* top-1: outcome "answer" with a matching title (a clarification is not a top-1 hit);
* top-3: a matching title among the first three candidates offered (answer or clarify);
* FALLBACK rows are right on "fallback" or "clarify", GREETING rows on "fallback";
* aspect: on in-scope rows whose `aspect` is not "-";
* false-confident: FALLBACK/GREETING rows answered with outcome "answer".
The baseline is plain `rapidfuzz.process.extractOne` over titles (always answers, no aspect).
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import process, utils

from knowledge import Answer, CentreInfo, KnowledgeBase, Matcher, Procedure, load_knowledge_base
from knowledge.conversation import Conversation
from knowledge.normalize import fold, normalize

DEFAULT_QUESTIONS = ("../shared/eval/dev_questions.tsv", "/work/shared/eval/dev_questions.tsv")
DATA = Path(__file__).resolve().parent / "data"
DEFAULT_SETS = (
    ("tune real", DATA / "tune_real_questions.tsv"),
    ("tune dialogues", DATA / "tune_dialogues.tsv"),
    ("old heldout", DATA / "heldout_questions.tsv"),
    ("heldout real", DATA / "heldout_real_questions.tsv"),
    ("heldout dialogues", DATA / "heldout_dialogues.tsv"),
)
NON_PROCEDURE = {"FALLBACK", "GREETING"}


@dataclass(frozen=True)
class Row:
    question: str
    expect: tuple[str, ...]
    aspect: str | None
    dialogue: str | None = None  # rows of one dialogue share a conversation, in turn order
    turn: int = 1

    @property
    def out_of_scope(self) -> bool:
        return bool(NON_PROCEDURE & set(self.expect))


@dataclass(frozen=True)
class Prediction:
    outcome: str
    titles: tuple[str, ...]  # the answered title first (if any), then the other candidates
    aspect: str | None


@dataclass
class Report:
    name: str
    top1: list[bool] = field(default_factory=list)
    top3: list[bool] = field(default_factory=list)
    aspect: list[bool] = field(default_factory=list)
    false_confident: list[bool] = field(default_factory=list)
    clarified: int = 0
    timing: Timing | None = None
    misses: list[str] = field(default_factory=list)
    follow_ups: list[bool] = field(default_factory=list)


def read_rows(path: Path) -> list[Row]:
    """Questions (`question`, `expect`, `aspect`, `note`[, `source`]) or dialogues (`dialogue`, `turn`,
    then the same columns), dialogues sorted by their turns."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        rows = [
            Row(
                question=row["question"].strip(),
                expect=tuple(alt.strip() for alt in (row.get("expect") or "").split("|") if alt.strip()),
                aspect=None if (row.get("aspect") or "").strip() in ("", "-") else (row.get("aspect") or "").strip(),
                dialogue=(row.get("dialogue") or "").strip() or None,
                turn=int(row["turn"]) if (row.get("turn") or "").strip().isdigit() else 1,
            )
            for row in reader
            if (row.get("question") or "").strip()
        ]
    if any(row.dialogue for row in rows):
        order = {name: index for index, name in enumerate(dict.fromkeys(row.dialogue for row in rows))}
        rows.sort(key=lambda row: (order[row.dialogue], row.turn))
    return rows


def title_matches(title: str, expect: Sequence[str]) -> bool:
    """The eval's rule: title lowercased, diacritics removed (đ → d), contains an alternative."""
    key = fold(title).lower()
    return any(alt not in NON_PROCEDURE and fold(alt).lower() in key for alt in expect)


def follow_up_right(row: Row, prediction: Prediction) -> bool:
    """A later turn of a dialogue is resolved: the right procedure answered (or, out of scope, none) and
    the right aspect."""
    if row.out_of_scope:
        return prediction.outcome != "answer" or "GREETING" in row.expect
    if prediction.outcome != "answer" or not prediction.titles or not title_matches(prediction.titles[0], row.expect):
        return False
    return row.aspect is None or prediction.aspect == row.aspect


def score(report: Report, row: Row, prediction: Prediction) -> None:
    """Add one prediction to a report."""
    if row.dialogue is not None and row.turn > 1:
        report.follow_ups.append(follow_up_right(row, prediction))
    if row.out_of_scope:
        allowed = set()
        if "FALLBACK" in row.expect:
            allowed |= {"fallback", "clarify"}
        if "GREETING" in row.expect:
            allowed.add("fallback")
        right = prediction.outcome in allowed
        report.top1.append(right)
        report.top3.append(right)
        report.false_confident.append(prediction.outcome == "answer")
        if not right:
            report.misses.append(f"{row.question!r}: expected {'|'.join(row.expect)}, got {prediction.outcome}")
        return
    first = (
        prediction.outcome == "answer" and bool(prediction.titles) and title_matches(prediction.titles[0], row.expect)
    )
    offered = prediction.titles[:3] if prediction.outcome != "fallback" else ()
    report.top1.append(first)
    report.top3.append(any(title_matches(title, row.expect) for title in offered))
    report.clarified += prediction.outcome == "clarify"
    if row.aspect is not None and prediction.aspect is not None:
        report.aspect.append(prediction.aspect == row.aspect)
    elif row.aspect is not None:
        report.aspect.append(False)
    if not first:
        got = prediction.titles[0] if prediction.titles else "-"
        report.misses.append(f"{row.question!r}: expected {'|'.join(row.expect)}, got {prediction.outcome} {got!r}")
    elif row.aspect is not None and prediction.aspect != row.aspect:
        report.misses.append(f"{row.question!r}: aspect {prediction.aspect}, expected {row.aspect}")


@dataclass
class Timing:
    """Per-call times in milliseconds: wall clock, and CPU time of this thread (immune to other processes)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"p50 {percentile(self.cpu, 0.5):.3f} / p99 {percentile(self.cpu, 0.99):.3f} ms CPU; "
            f"wall p50 {percentile(self.wall, 0.5):.3f} / p99 {percentile(self.wall, 0.99):.3f} ms"
        )


def timed(function: Callable[[str], Prediction], question: str, timing: Timing | None = None) -> Prediction:
    """Call once with a cold normalisation cache, recording the wall and CPU time."""
    normalize.cache_clear()
    wall = time.perf_counter_ns()
    cpu = time.thread_time_ns()
    result = function(question)
    if timing is not None:
        timing.cpu.append((time.thread_time_ns() - cpu) / 1e6)
        timing.wall.append((time.perf_counter_ns() - wall) / 1e6)
    return result


def matcher_predict(matcher: Matcher) -> Callable[[str], Prediction]:
    def predict(question: str) -> Prediction:
        return _prediction(matcher.ask(question))

    return predict


def _prediction(answer: Answer) -> Prediction:
    titles = [answer.entry.title] if answer.entry is not None else []
    titles += [c.title for c in answer.candidates if not titles or c.title != titles[0]]
    return Prediction(answer.outcome, tuple(titles), answer.aspect)


def evaluate_dialogues(name: str, matcher: Matcher, rows: list[Row], rounds: int) -> Report:
    """Each dialogue's turns in order, with the conversation's context, as one chat would."""
    report = Report(name)
    context: dict[str, Conversation | None] = {}
    for row in rows:
        key = row.dialogue or ""
        before = context.get(key) if row.turn > 1 else None
        normalize.cache_clear()
        answer = matcher.ask(row.question, before)
        context[key] = answer.context
        score(report, row, _prediction(answer))
        if row.turn > 1 and not report.follow_ups[-1]:
            report.misses.append(f"  ^ dialogue {key} turn {row.turn}: follow-up not resolved")
    report.timing = latencies(matcher_predict(matcher), [row.question for row in rows], rounds)
    return report


def baseline_predict(titles: list[str]) -> Callable[[str], Prediction]:
    def predict(question: str) -> Prediction:
        best = process.extractOne(question, titles, processor=utils.default_process)
        top3 = process.extract(question, titles, processor=utils.default_process, limit=3)
        ordered = [best[0]] + [title for title, _, _ in top3 if title != best[0]]
        return Prediction("answer", tuple(ordered), None)

    return predict


def evaluate(name: str, predict: Callable[[str], Prediction], rows: list[Row], rounds: int) -> Report:
    report = Report(name)
    for row in rows:
        score(report, row, timed(predict, row.question))
    report.timing = latencies(predict, [row.question for row in rows], rounds)
    return report


def latencies(predict: Callable[[str], Prediction], questions: list[str], rounds: int) -> Timing:
    """Per-question times over several rounds (cold normalisation cache each time)."""
    timing = Timing()
    gc.disable()
    try:
        for _ in range(rounds):
            for question in questions:
                timed(predict, question, timing)
    finally:
        gc.enable()
    return timing


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def rate(values: list[bool]) -> str:
    if not values:
        return "n/a"
    return f"{100.0 * sum(values) / len(values):5.1f} % ({sum(values)}/{len(values)})"


def scaled_kb(kb: KnowledgeBase, target: int, seed: int = 7) -> KnowledgeBase:
    """A knowledge base of at least `target` procedures: clones with new ids and varied titles/aliases."""
    generator = random.Random(seed)
    words = sorted({word for p in kb.procedures for word in p.title.split() if len(word) > 1})
    places = ["xã", "phường", "khu công nghiệp", "đặc khu", "cảng", "cửa khẩu", "vùng", "làng nghề"]
    procedures: list[Procedure] = list(kb.procedures)
    copy = 0
    while len(procedures) < target:
        copy += 1
        for original in kb.procedures:
            if len(procedures) >= target:
                break
            extra = " ".join(generator.sample(words, k=min(3, len(words))))
            title = f"{original.title} tại {generator.choice(places)} {extra} {copy}"
            aliases = [f"{alias} {generator.choice(words)}" for alias in original.aliases]
            procedures.append(
                original.model_copy(
                    update={"id": f"{original.id}-{copy}", "title": title, "aliases": aliases, "code": None}
                )
            )
    return KnowledgeBase(departments=kb.departments, procedures=procedures, general=kb.general)


def _timing(report: Report) -> Timing:
    return report.timing or Timing([0.0], [0.0])


def print_table(reports: list[Report]) -> None:
    headers = ["metric", *(report.name for report in reports)]
    table = [
        ["top-1 accuracy (target ≥ 90 %)", *(rate(r.top1) for r in reports)],
        ["top-3 accuracy (target ≥ 99 %)", *(rate(r.top3) for r in reports)],
        ["aspect accuracy (target ≥ 90 %)", *(rate(r.aspect) for r in reports)],
        ["false-confident, out of scope (target ≤ 3 %)", *(rate(r.false_confident) for r in reports)],
        ["clarifications on in-scope rows", *(str(r.clarified) for r in reports)],
        ["follow-ups resolved (target ≥ 90 %)", *(rate(r.follow_ups) for r in reports)],
        ["latency p50 (CPU)", *(f"{percentile(_timing(r).cpu, 0.50):.3f} ms" for r in reports)],
        ["latency p99 (CPU)", *(f"{percentile(_timing(r).cpu, 0.99):.3f} ms" for r in reports)],
        ["latency p50 (wall)", *(f"{percentile(_timing(r).wall, 0.50):.3f} ms" for r in reports)],
        ["latency p99 (wall)", *(f"{percentile(_timing(r).wall, 0.99):.3f} ms" for r in reports)],
    ]
    widths = [max(len(str(line[i])) for line in [headers, *table]) for i in range(len(headers))]
    rule = "-+-".join("-" * width for width in widths)
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(rule)
    for line in table:
        print(" | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))


def find_questions(argument: str | None) -> Path:
    candidates = [argument] if argument else list(DEFAULT_QUESTIONS)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise SystemExit(f"questions file not found: {', '.join(candidates)}")


def question_sets(arguments: Sequence[str]) -> list[tuple[str, Path]]:
    """The sets to report: the files given, else the dev questions and every default set that exists."""
    if arguments:
        return [(Path(argument).stem, Path(argument)) for argument in arguments if Path(argument).is_file()] or [
            ("dev", find_questions(arguments[0]))
        ]
    sets = [("dev", find_questions(None))]
    sets += [(name, path) for name, path in DEFAULT_SETS if path.is_file()]
    return sets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("questions", nargs="*", help="TSV files of questions or dialogues (default: all sets)")
    parser.add_argument("--set", action="append", default=[], dest="sets", help="another TSV file to report")
    parser.add_argument("--kb", type=Path, default=None, help="knowledge base directory (default: bundled)")
    parser.add_argument("--scale", type=int, default=2000, help="procedures in the scaled run")
    parser.add_argument("--rounds", type=int, default=20, help="latency rounds over the questions")
    parser.add_argument("--verbose", action="store_true", help="list the rows the matcher got wrong")
    args = parser.parse_args(argv)

    sets = question_sets([*args.questions, *args.sets])
    kb = load_knowledge_base(args.kb)
    centre = CentreInfo()
    wall, cpu = time.perf_counter(), time.process_time()
    matcher = Matcher(kb, centre)
    build = f"{(time.perf_counter() - wall) * 1000:.0f} ms wall, {(time.process_time() - cpu) * 1000:.0f} ms CPU"
    print(
        f"knowledge base: {len(kb.procedures)} procedures, {len(kb.general)} general entries, "
        f"{len(matcher.families.families)} families; index built in {build}"
    )
    reports: list[Report] = []
    all_rows: list[Row] = []
    for name, path in sets:
        rows = read_rows(path)
        all_rows += rows
        kind = "dialogue turns" if any(row.dialogue for row in rows) else "questions"
        print(f"  {name}: {path} — {len(rows)} {kind} ({sum(r.out_of_scope for r in rows)} out of scope)")
        if any(row.dialogue for row in rows):
            reports.append(evaluate_dialogues(name, matcher, rows, args.rounds))
        else:
            reports.append(evaluate(name, matcher_predict(matcher), rows, args.rounds))
    first_rows = read_rows(sets[0][1])
    titles = [entry.title for entry in matcher.entries]
    reports.append(evaluate(f"{sets[0][0]}: baseline", baseline_predict(titles), first_rows, max(1, args.rounds // 4)))
    print()
    print_table(reports)

    big = scaled_kb(kb, args.scale)
    gc.collect()
    normalize.cache_clear()
    wall, cpu = time.perf_counter(), time.process_time()
    big_matcher = Matcher(big, centre, matcher.families)
    big_wall, big_cpu = time.perf_counter() - wall, time.process_time() - cpu
    questions = [row.question for row in all_rows]
    big_timing = latencies(matcher_predict(big_matcher), questions, max(3, args.rounds // 4))
    big_baseline = latencies(baseline_predict([e.title for e in big_matcher.entries]), questions[:100], 1)
    print()
    print(f"scaled knowledge base: {len(big.procedures)} procedures + {len(big.general)} general entries")
    print(
        f"  matcher:  index build {big_cpu * 1000:.0f} ms CPU, {big_wall * 1000:.0f} ms wall (target ≤ 2000 ms); "
        f"latency {big_timing.summary()} (target p99 ≤ 5 ms)"
    )
    print(f"  baseline: latency {big_baseline.summary()}")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall times include waiting for a CPU)")
    if args.verbose:
        for report in reports[:-1]:
            if report.misses:
                print()
                print(f"{report.name} misses:")
                for miss in report.misses:
                    print(f"  {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
