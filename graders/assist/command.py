"""`grader suggest REPORTS QUESTION [--json]`: a suggested mark, or an abstention, per unmarked answer.

Registered by graders/cli.py; nothing heavy is imported until the command runs, and without the
`assist` extra it fails with `MissingExtra` before it reads anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    suggest = commands.add_parser("suggest", help="suggested marks for a written question's unmarked answers (needs the [assist] extra)")
    suggest.add_argument("reports", type=Path)
    suggest.add_argument("question", help="the question's tag in the handout")
    suggest.add_argument(
        "--json", action="store_true", help="one JSON object per line: submission, points, rubric_items, confidence (or abstain)"
    )
    suggest.set_defaults(command=run)


def run(args: argparse.Namespace) -> int:
    from graders.assist import embed
    from graders.assist.marks import question_answers
    from graders.assist.suggest import Suggestion, suggest

    model = embed.load()
    answers = question_answers(args.reports, args.question)
    decisions = suggest(answers.rubric, answers.marked, answers.unmarked, model.embed)
    for decision in decisions:
        items = [] if answers.rubric.exclusive or not isinstance(decision, Suggestion) else sorted(decision.items)
        if isinstance(decision, Suggestion):
            row: dict[str, object] = {
                "submission": decision.key,
                "points": decision.points,
                "rubric_items": items,
                "confidence": decision.confidence,
            }
            line = f"{decision.key}\t{decision.points:g}\t{decision.confidence}\t{' '.join(items)}"
        else:
            row, line = {"submission": decision.key, "abstain": True}, f"{decision.key}\t-"
        print(json.dumps(row) if args.json else line)
    suggested = sum(isinstance(d, Suggestion) for d in decisions)
    print(f"{suggested} of {len(decisions)} unmarked answers have a suggestion ({len(answers.marked)} marked)", file=sys.stderr)
    return 0
