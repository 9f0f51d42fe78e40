"""Incremental regrade: a result is reused only when nothing that decides it has changed.

The key covers the submission's bytes, the grader's own code and templates, the reference
implementation, every field of the grading settings (`RunSettings`, by its canonical JSON: a field
declared there joins the key without being listed here) and the grading data. Anything else (worker count,
warm or cold execution) does not change a grade, so it is not in the key.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from graders.results import SubmissionResult
from graders.settings import RunSettings

GRADERS_DIR = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=8)
def grader_fingerprint(assignment_dir: Path) -> str:
    """The harness's code and templates, and the assignment package's files: a change of either regrades."""
    digest = hashlib.sha256()
    for root in (GRADERS_DIR, assignment_dir):
        for path in sorted([*root.rglob("*.py"), *root.rglob("templates/*")]):
            digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def data_fingerprint(data_dir: Path, files: tuple[Path, ...]) -> str:
    """Size and modification time of the data files grading reads: cheap, and changes whenever the data does."""
    stats = [(p.as_posix(), (data_dir / p).stat().st_size, (data_dir / p).stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def cache_key(*, sha256: str, settings: RunSettings, grader: str, reference_hash: str, data: str) -> str:
    material = json.dumps(
        {"submission": sha256, "grader": grader, "reference": reference_hash, "settings": settings.canonical(), "data": data},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def cached_result(out_dir: Path, submission_id: str, key: str) -> SubmissionResult | None:
    """The stored result if it was made under the same key and its report is still there; a damaged
    results.json (its provenance included) or one without provenance is a miss: graded again."""
    folder = out_dir / submission_id
    try:
        result = SubmissionResult.read(folder / "results.json")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if result.provenance is None or result.provenance.cache_key != key or not (folder / "report.html").exists():
        return None
    return result
