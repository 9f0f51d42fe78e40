"""The review's assistant works a question's suggestions out again only when its answers, marks or rubric changed."""

from __future__ import annotations

import pytest

from graders.assist import page
from graders.errors import UsageError
from graders.gradebook.store import Gradebook, ManualEntry
from tests.assist.test_command import ROLE
from tests.provenance import provenance
from tests.report.test_render import result
from tests.review.conftest import answers


def test_suggestions_are_worked_out_again_only_when_what_they_follow_from_changed(model, tmp_path, monkeypatch):
    with Gradebook.open(tmp_path, create=True) as book:
        book.record_run([result(name, free_text=answers("Blurry.", "Trade-off.", text)) for name, text in ROLE.items()], info=provenance())
        book.set_manual([ManualEntry("ann", "kl_role", 0.5, version=0, items=("regulariser",))], by="Alice")
    calls: list[int] = []
    real = page.suggest

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(page, "suggest", counted)
    helper = page.Assistant(model)
    first = helper.suggestions(tmp_path, "kl_role")
    assert helper.suggestions(tmp_path, "kl_role") == first and len(calls) == 1  # nothing changed: kept
    with Gradebook.open(tmp_path) as book:
        book.set_manual([ManualEntry("ben", "kl_role", 0.0, version=0, items=())], by="Alice")
    assert "ben" not in helper.suggestions(tmp_path, "kl_role") and len(calls) == 2  # a new mark
    with Gradebook.open(tmp_path) as book:
        (item,) = (i for i in book.rubric("kl_role") if i.key == "regulariser")
        book.edit_rubric_item("kl_role", "regulariser", text="it keeps the posterior near the prior", by="Alice", version=item.version)
    helper.suggestions(tmp_path, "kl_role")
    assert len(calls) == 3  # the item's wording is evidence: a rename counts
    with pytest.raises(UsageError, match="no written question"):
        helper.suggestions(tmp_path, "kl_nothing")
