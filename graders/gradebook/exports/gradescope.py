"""A submission's results in Gradescope's autograder layout (`results.json`), for the autograder (graders/pipeline/autograder.py).

There is no stand-alone Gradescope export: Gradescope takes an autograder's results only from its own
run of the autograder (`grader gradescope-bundle`), and a folder of results.json files has no
importer there.

Gradescope's specification: top-level `score` (total points), `output` (text for the whole
submission) and `tests`, each with `name`, `score`, `max_score`, `output` and `visibility`
(`hidden`, `after_due_date`, `after_published` or `visible`). Checks judged on hidden
inputs are `after_published`, so their messages reach students only when grades are
published; the derivation checks and the written answers are `visible`. A written
answer that is still pending is left out (Gradescope has no "pending" score) and `output` says so.
"""

from __future__ import annotations

from typing import Any

from graders.assignment.spec import Assignment
from graders.gradebook.exports.cells import feedback
from graders.gradebook.store import CheckGrade, Grade, QuestionGrade


def results_json(grade: Grade, assignment: Assignment, *, final: bool) -> dict[str, Any]:
    tests = [_check_test(check, assignment) for check in grade.checks] + [_question_test(q) for q in grade.questions if not q.pending]
    return {"score": round(sum(t["score"] for t in tests), 4), "output": feedback(grade, final=final), "tests": tests}


def _check_test(check: CheckGrade, assignment: Assignment) -> dict[str, Any]:
    result = check.result
    spec = next((spec for spec in assignment.checks if spec.id == result.id), None)
    lines = [f"{result.status.value}: {result.message}".strip()]
    lines += [f"likely misconception: {name}" for name in result.misconceptions]
    if check.override is not None:
        lines.append(f"adjusted by course staff: {check.override.reason}")
    return {
        "name": f"{spec.title if spec else result.id} ({result.id})",
        "score": check.score,
        "max_score": result.max_score,
        "output": "\n".join(lines),
        # A check on hidden inputs can describe them in its message: shown once grades are published.
        "visibility": "after_published" if spec is None or spec.on_hidden_inputs else "visible",
    }


def _question_test(question: QuestionGrade) -> dict[str, Any]:
    comment = question.mark.comment if question.mark is not None else ""
    return {
        "name": f"{question.question.text} ({question.question.tag}, marked by course staff)",
        "score": question.points or 0.0,
        "max_score": question.question.points,
        "output": comment,
        "visibility": "visible",
    }
