"""`staff.rerender` after a change: "later" only when a batch holds the folder, never for a gradebook that cannot be read."""

from __future__ import annotations

import pytest

from graders.errors import CorruptGradebook
from graders.gradebook.lock import exclusive
from graders.pipeline.staff import rerender
from tests.gradebook.unusable import UNUSABLE, real_gradebook, write_unusable
from tests.report.test_render import SEED


def test_rerender_renders_now_or_leaves_it_to_the_batch_holding_the_folder(tmp_path):
    real_gradebook(tmp_path)
    with exclusive(tmp_path):
        assert rerender(tmp_path) is False
        assert not (tmp_path / SEED.submission / "report.html").exists()
    assert rerender(tmp_path) is True
    assert (tmp_path / SEED.submission / "report.html").is_file()


@pytest.mark.parametrize("kind", UNUSABLE)
def test_rerender_raises_a_corrupt_gradebook_instead_of_calling_it_busy(tmp_path, kind):
    write_unusable(tmp_path, kind)
    with pytest.raises(CorruptGradebook, match=UNUSABLE[kind][1]):
        rerender(tmp_path)
