"""Finding submissions in the drop folder: `*.ipynb` at the top, or one per student folder.

Anything a filesystem can hold turns up here (LMS zip exports, uploads, `git clone`s of student
repositories): directories, FIFOs, sockets and device files named `*.ipynb`, dangling links and
link loops, names that are not UTF-8 or carry newlines. Discovery never opens an entry and
never follows a link; it only lists and `lstat`s. Whatever it finds under a name becomes a
`Submission` (reading it is `graders.intake.notebooks.read_submission`'s job, which turns
anything but a regular file into an error result the student understands).

Ids are path components the grader writes under (`REPORTS/<id>/`): see `safe_id`.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from graders.errors import UsageError

SUFFIX = ".ipynb"
MAX_ID_CHARS = 100  # well below any filesystem's 255-byte name limit, even in 4-byte UTF-8
FALLBACK_ID = "submission"
# Characters an id may keep besides letters, digits and marks: no separators, no quotes, no shell metacharacters.
_ALLOWED_PUNCTUATION = frozenset(" -_.+@()~,")
MAX_SHOWN_NAMES = 5  # hidden entries named in one warning line; the rest are counted
MAX_SHOWN_CHARS = 80


@dataclass(frozen=True)
class Submission:
    id: str  # a safe, unique path component (see safe_id)
    path: Path
    note: str = ""  # e.g. that another file claimed the same id
    name: str = ""  # the entry's name as found (may hold anything: escape it wherever it is shown)


@dataclass(frozen=True)
class Discovery:
    submissions: tuple[Submission, ...]
    warnings: tuple[str, ...] = ()  # for staff, on stderr: what was found but not graded


def find_submissions(folder: Path) -> Discovery:
    """Top-level `*.ipynb` entries are named by their stem, notebooks in a student folder by the folder.

    A student folder with several notebooks contributes the one sorted first (the others are
    ignored, with a warning), so that checkpoints or copies cannot produce two grades for one
    student. Links are never followed: a link is a submission that is refused when read.
    Hidden entries (names starting with `.`: `.ipynb_checkpoints/`, macOS's `._x.ipynb`, a stray
    `.s123.ipynb`) are never graded, so none can take a student's id; the ones that could have
    been a submission are named in a warning.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of submissions")
    found: dict[str, Submission] = {}
    entries, hidden = _entries(folder)
    folders = [entry for entry in entries if _is_real_dir(entry)]
    warnings = _hidden_at_top(hidden)
    in_folders = set(folders)  # a set: a drop folder of thousands of entries stays linear
    for entry in entries:
        if entry not in in_folders and entry.name.endswith(SUFFIX):
            _add(found, _submission(entry.name[: -len(SUFFIX)], entry, display_name(entry.name)))
    for entry in folders:
        submission, warning = _from_student_folder(entry)
        warnings += [warning] if warning else []
        if submission is not None:
            _add(found, submission)
    return Discovery(tuple(sorted(found.values(), key=lambda s: s.id)), tuple(warnings))


def safe_id(name: str) -> str:
    """A name as a path component the grader can write under: never `.`, `..`, empty or hidden,
    no separators, control characters or look-alikes of them (anything but letters, digits, marks
    and a few punctuation characters becomes `_`), NFC so that macOS and Linux spell it alike."""
    name = unicodedata.normalize("NFC", name)
    kept = "".join(c if _allowed(c) else "_" for c in name)
    # Leading dots would make it hidden (or `.`/`..`); surrounding spaces are invisible in listings.
    kept = kept.strip().lstrip(".").strip()[:MAX_ID_CHARS].rstrip()
    return kept if kept.strip("_") else FALLBACK_ID


def display_name(name: str) -> str:
    """The name as found, printable: bytes that are not UTF-8 (surrogate escapes) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _allowed(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNM" or char in _ALLOWED_PUNCTUATION


def _entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's visible entries and its hidden ones (names starting with `.`), each sorted."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise UsageError(f"{folder} cannot be listed ({exc.strerror})") from exc
    return [folder / n for n in names if not n.startswith(".")], [folder / n for n in names if n.startswith(".")]


def _hidden_at_top(hidden: list[Path]) -> list[str]:
    """Staff hear of the hidden entries that would have been submissions if visible (not of `.DS_Store`)."""
    skipped = [_shown(p.name, "/") if _is_real_dir(p) else _shown(p.name) for p in hidden if _is_real_dir(p) or p.name.endswith(SUFFIX)]
    return [f"skipped hidden entries (never graded; rename one if it is a submission): {_listed(skipped)}"] if skipped else []


def _shown(name: str, suffix: str = "") -> str:
    """A name for a warning line: quoted and escaped (a newline cannot fake another line), and bounded."""
    return repr(display_name(name)[:MAX_SHOWN_CHARS] + suffix)


def _listed(names: list[str]) -> str:
    more = len(names) - MAX_SHOWN_NAMES
    return ", ".join(names[:MAX_SHOWN_NAMES]) + (f" and {more} more" if more > 0 else "")


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:  # gone since it was listed
        return False


def _from_student_folder(student_dir: Path) -> tuple[Submission | None, str]:
    """The folder's first visible notebook (or, for an unlistable folder, the folder itself, refused when read)."""
    name = display_name(student_dir.name)
    try:
        entries, hidden = _entries(student_dir)
    except UsageError:
        return _submission(student_dir.name, student_dir, name), ""
    notebooks = [p for p in entries if p.name.endswith(SUFFIX)]
    notes = [f"ignored {', '.join(display_name(p.name) for p in notebooks[1:])}"] if notebooks[1:] else []
    hidden_notebooks = [_shown(p.name) for p in hidden if p.name.endswith(SUFFIX)]
    notes += [f"skipped hidden {_listed(hidden_notebooks)} (never graded)"] if hidden_notebooks else []
    if not notebooks:
        warning = f"{name}/: no notebook graded; {'; '.join(notes)}" if notes else ""
        # A folder named like a notebook is a mistaken upload worth an error result; any other is not ours.
        return (_submission(student_dir.name[: -len(SUFFIX)], student_dir, name) if name.endswith(SUFFIX) else None), warning
    warning = f"{name}/: graded {display_name(notebooks[0].name)}, {'; '.join(notes)}" if notes else ""
    return _submission(student_dir.name, notebooks[0], f"{name}/{display_name(notebooks[0].name)}"), warning


def _submission(stem: str, path: Path, name: str) -> Submission:
    """A submission whose id is `stem` made safe; when that changed it, the note says what was submitted."""
    sid = safe_id(stem)
    renamed = sid != unicodedata.normalize("NFC", stem)
    return Submission(sid, path, f"(Submitted as {name!r}; graded as {sid!r}.)" if renamed else "", name)


def _add(found: dict[str, Submission], submission: Submission) -> None:
    """Two entries claiming one id are both graded, under distinct ids, and flagged for staff.

    The suffix is stable: entries are visited in sorted order, so the same folder gives the same ids.
    """
    if submission.id not in found:
        found[submission.id] = submission
        return
    first = found[submission.id]
    suffix = 2
    while f"{submission.id}~{suffix}" in found:
        suffix += 1
    note = f"{first.name!r} and {submission.name!r} both map to the student id {submission.id!r}; check which one counts"
    found[first.id] = Submission(first.id, first.path, note, first.name)
    found[f"{submission.id}~{suffix}"] = Submission(f"{submission.id}~{suffix}", submission.path, note, submission.name)
