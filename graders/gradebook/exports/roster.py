"""The roster: which LMS identity each submission id belongs to.

A CSV with a header. `submission` (our id: the notebook's file stem or folder name) is
required; every other column is optional and used by the exporters that need it:
`name`, `canvas_id`, `sis_user_id`, `sis_login_id`, `section` (Canvas), `email`,
`username`, `id_number` (Moodle: the first of these present is the identifier).
Without a roster, ids are exported as they are (the CLI warns).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from pathlib import Path

from graders.errors import UsageError


@dataclass(frozen=True)
class Identity:
    submission: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    username: str = ""
    id_number: str = ""


COLUMNS = tuple(f.name for f in fields(Identity))


@dataclass(frozen=True)
class Roster:
    identities: dict[str, Identity] = field(default_factory=dict)

    @property
    def given(self) -> bool:
        return bool(self.identities)

    def identity(self, submission: str) -> Identity:
        """The roster's entry; without one, the submission id stands in for every identifier."""
        found = self.identities.get(submission)
        if found is not None:
            return found
        return Identity(submission, name=submission, sis_user_id=submission, username=submission)

    def has_column(self, column: str) -> bool:
        return any(getattr(identity, column) for identity in self.identities.values())


def read_roster(path: Path) -> Roster:
    """Parse and validate a roster CSV; anything malformed is a UsageError naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the roster {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if "submission" not in header:
        raise UsageError(f"the roster {path} needs a 'submission' column; its columns may be: {', '.join(COLUMNS)}")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise UsageError(f"the roster {path} has unknown columns {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}")
    identities: dict[str, Identity] = {}
    try:
        for row in reader:
            if None in row:
                raise UsageError(f"the roster {path}, line {reader.line_num}: more cells than columns")
            values = {key.strip(): (value or "").strip() for key, value in row.items()}
            if not values["submission"]:
                raise UsageError(f"the roster {path}, line {reader.line_num}: the submission id is empty")
            if values["submission"] in identities:
                raise UsageError(f"the roster {path}, line {reader.line_num}: {values['submission']!r} is listed twice")
            identities[values["submission"]] = Identity(**values)
    except csv.Error as exc:
        raise UsageError(f"the roster {path} is not valid CSV: {exc}") from exc
    return Roster(identities)
