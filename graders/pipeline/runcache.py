"""The experiment's trained runs kept on disk between batches: they depend on no student.

Every batch (and every self-check) trains the experiment with the reference, and with a named mistake's
variant on demand (graders.judge.expected.TrainedRuns). Those runs depend only on what the key holds: the
assignment (id, version), the harness's and the assignment's code, the reference's hash, the seed and
whether hidden inputs are on (the plan is built from them), the grading data, the mistake's flags and torch's
version. A run is stored as strict JSON in the probe's own encoding (no pickle), written atomically, and read
back as untrusted: a file too large, not strict JSON, of another format or made under another key is a miss,
trained again and rewritten. It holds what the reports folder already holds (values computed from the grading
seed), so it lives in the grader's own cache folder (0700), never in a notebook's view.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graders.judge.expected import ExpectedValues
from graders.judge.probes import ProbePlan
from graders.pipeline.cache import data_fingerprint, grader_fingerprint
from graders.pipeline.config import GradingConfig
from graders.pipeline.triage import version
from graders.runtime import probe_runtime

FORMAT = 1
# A file's bytes beyond its decoded budget: the names, the JSON around the arrays, base64's growth.
_SLACK_BYTES = 64 * 1024
_BYTES_PER_ELEMENT = 12  # an 8-byte element in base64 (zlib may grow incompressible data a little)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not strict JSON")


def _exact(encoded: Mapping[str, Any]) -> bool:
    """Whether decoding gives the value back: everything but an object the codec keeps only as text."""
    if encoded["kind"] == "sequence":
        return all(_exact(item) for item in encoded["items"])
    return bool(encoded["kind"] != "object")


@dataclass(frozen=True)
class RunCache:
    """A `graders.judge.expected.RunStore` in `folder`: one file per mistake's flags under one key."""

    folder: Path
    key: str  # the digest of everything but the flags (see `run_cache`)
    budget: int  # the most array elements a run may hold (the plan's experiment's own limit)

    def load(self, flags: frozenset[str]) -> Mapping[str, Any] | None:
        digest = self._digest(flags)
        try:
            document = json.loads(self._read(self._path(digest)), parse_constant=_refuse_constant)
            if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("key") != digest:
                return None  # another format, or a file made for another key: not this run
            names, runs = document["names"], document["runs"]
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                return None
            decoded = probe_runtime.decode(runs, max_elements=self.budget)
            return dict(zip(names, decoded, strict=True))
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None  # absent or damaged: trained again, and rewritten

    def save(self, flags: frozenset[str], runs: Mapping[str, Any]) -> None:
        encoded = probe_runtime.encode(tuple(runs.values()))
        if not _exact(encoded):
            return  # a value the codec keeps only as text would not come back the same: trained each batch instead
        digest = self._digest(flags)
        document = {"format": FORMAT, "key": digest, "names": list(runs), "runs": encoded}
        try:
            self._write(self._path(digest), json.dumps(document, sort_keys=True, allow_nan=False))
        except OSError as exc:  # the grade does not depend on it: the next batch trains again
            print(f"grader: could not keep a trained run in {self.folder} ({exc.strerror}); it is trained again next time", file=sys.stderr)

    def _digest(self, flags: frozenset[str]) -> str:
        return hashlib.sha256(json.dumps({"key": self.key, "flags": sorted(flags)}).encode()).hexdigest()

    def _path(self, digest: str) -> Path:
        return self.folder / f"{digest[:32]}.json"

    def _read(self, path: Path) -> bytes:
        """At most the budget's bytes, never through a link or from a FIFO."""
        limit = _SLACK_BYTES + _BYTES_PER_ELEMENT * self.budget
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError(f"{path} is not a regular file")
            raw = file.read(limit + 1)
        if len(raw) > limit:
            raise ValueError(f"{path} is larger than a run may be")
        return raw

    def _write(self, path: Path, text: str) -> None:
        """Atomically, into a folder only the grader's user can open (two batches at once each rename a whole file)."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".run-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def run_cache(config: GradingConfig, plan: ProbePlan, *, reference_hash: str, data_dir: Path) -> RunCache | None:
    """The store for this run's trained experiments, or None when there is no experiment or no cache folder."""
    if config.run_cache is None or plan.experiment is None:
        return None
    assignment = config.assignment
    material = {
        "assignment": [assignment.id, assignment.version],
        "code": grader_fingerprint(assignment.package_dir()),
        "reference": reference_hash,
        "seed": config.seed,
        "hidden": config.hidden,
        "data": data_fingerprint(data_dir, assignment.data_files(data_dir)),
        "torch": version("torch"),
    }
    key = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return RunCache(config.run_cache / assignment.id, key, plan.experiment.max_value_elements())


def with_run_cache(expected: ExpectedValues, config: GradingConfig, plan: ProbePlan, *, data_dir: Path) -> ExpectedValues:
    """`expected` whose trained runs are read from and kept in the run cache, when there is one."""
    store = run_cache(config, plan, reference_hash=expected.reference_hash, data_dir=data_dir)
    return expected if store is None else replace(expected, trained=expected.trained.kept_in(store))
