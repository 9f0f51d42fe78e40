"""Every command the docs tell a reader to type is run, and every `grader` command and option they name exists.

The convention, for README.md and every docs/*.md (a new page is picked up by the glob):

- A command a reader types sits in a fenced block tagged ```sh. A page's blocks run in order as one bash script
  (`set -euo pipefail`) from the root of a scratch copy of the repository: its tracked and not-ignored files, a
  `.venv` of links to the tests' venv (first on PATH; its `pip` refuses), and `reports/a10/`, `reports/a11/` as
  `make grade` leaves them (graded once per session). So the docs name the paths a reader uses (`reports/a10`),
  and nothing is written into the repository (checked). A failure names the page, its line and the command.
- A block that cannot run here (a server until Ctrl-C, a browser, an installation, the whole suite, a 16-minute
  benchmark) stays ```sh and comes right after an HTML comment that says why: `<!-- not run: WHY -->`.
- Every other fenced block names what it holds (```json, ```python, ```toml, ```text for a usage synopsis): a bare
  fence, ```bash, ```console or ```shell is refused, so no command hides from the runner.
- Every `grader` subcommand and option named in a page's code, fenced or inline, is in `grader ... --help`, and an
  option quoted alone (`--seed N`) is one of grader's or of another command the page shows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# grader's commands and options are checked wherever a reader may meet them, the map and the assignments' pages too.
NAMING_PAGES = [*PAGES, ROOT / "ARCHITECTURE.md", *sorted((ROOT / "assignments").glob("*/README.md"))]
VENV = Path(sys.prefix)  # the venv running the tests: the one the docs' commands use
RUN = "sh"
# Shell dialects other than sh would hide commands from the runner; a bare fence says nothing. Any other tag is a language.
NOT_SH = {"", "bash", "console", "shell", "shell-session", "shellsession", "bash-session", "sh-session", "zsh", "terminal"}
# A guard against a hung command (a server started by mistake), not a speed limit: a page takes seconds to a minute.
PAGE_TIMEOUT = 900

FENCE = re.compile(r"^( *)(`{3,}|~{3,})\s*([^\s`]*)")
NOT_RUN = re.compile(r"<!--\s*not run\b(.*?)-->", re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
GRADER = re.compile(r"(?:^|(?<=[\s\"'(]))(?:\S*/)?grader((?:\s+[^\s#;&]+)*)")
MAKE = re.compile(r"(?:^|[;&|]|\$\()\s*make((?:\s+[a-z][a-z0-9-]*)+)")
# Where `grader` starts a command (a line, a span, after `;`, `&&`, `|`, `$(`), the next word must be one of its
# commands; elsewhere ("the grader holds REPORTS" in a diagram) it is prose unless a command follows.
COMMAND_POSITION = re.compile(r"(?:^|[;&|]|\$\()\s*$")
OPTION = re.compile(r"--[a-z][a-z0-9-]*")
SEPARATOR = re.compile(r"\s#|;|&&|\|\|")
HELP_COMMAND = re.compile(r"^ {4}([a-z][a-z0-9-]*)(?:\s{2,}|$)", re.MULTILINE)
HELP_OPTION = re.compile(r"^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)", re.MULTILINE)
FAILED = "docs-command-failed-at-line"
PIP_REFUSED = """#!/bin/sh
echo "pip: not run by tests/test_docs_commands.py (it would change the shared venv): put <!-- not run: WHY --> before the block" >&2
exit 1
"""


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: where its text starts, its tag, and a not-run reason when a mark precedes it."""

    line: int
    tag: str
    lines: tuple[str, ...]
    not_run: str | None


@dataclass(frozen=True)
class Cli:
    """What `grader ... --help` offers: each command path (`("assignment", "check")`) with its options."""

    options: dict[tuple[str, ...], frozenset[str]]

    def subcommands(self, path: tuple[str, ...]) -> set[str]:
        return {command[len(path)] for command in self.options if len(command) == len(path) + 1 and command[: len(path)] == path}

    def every_option(self) -> set[str]:
        return set().union(*self.options.values())


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a page, in order; an indented fence (in a list item) loses its indentation."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence, tag = len(opening[1]), opening[2], opening[3]
        end = index + 1
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        body = tuple(line[indent:] if not line[:indent].strip() else line for line in lines[index + 1 : end])
        found.append(Block(line=index + 2, tag=tag, lines=body, not_run=_not_run_reason(lines[:index])))
        index = end + 1
    return found


def _closes(line: str, fence: str) -> bool:
    """CommonMark's closing fence: only the opening's character, at least as many of it."""
    mark = line.strip()
    return len(mark) >= len(fence) and mark == fence[0] * len(mark)


def _not_run_reason(before: list[str]) -> str | None:
    """The reason of a `<!-- not run: … -->` mark on the last non-blank line before a fence, or None without a mark."""
    previous = next((line for line in reversed(before) if line.strip()), "")
    mark = NOT_RUN.search(previous)
    return None if mark is None else mark[1].strip().lstrip(":").strip()


def outside_fences(text: str) -> str:
    """The page without its fenced blocks: where inline code spans are looked for."""
    kept, fence = [], ""
    for line in text.splitlines():
        opening = FENCE.match(line)
        if fence:
            fence = "" if _closes(line, fence) else fence
        elif opening:
            fence = opening[2]
        else:
            kept.append(line)
    return "\n".join(kept)


def code_lines(text: str) -> list[str]:
    """Every line of code a page shows: each fenced block's logical lines (a `\\` or an indented `[`/`--` goes on), each inline span."""
    logical: list[str] = []
    for block in blocks(text):
        first = len(logical)
        for line in block.lines:
            if len(logical) > first and (logical[-1].endswith("\\") or re.match(r"\s+[\[(-]", line)):
                logical[-1] = logical[-1].rstrip("\\") + " " + line.strip()
            else:
                logical.append(line)
    return logical + INLINE.findall(outside_fences(text))


def misnamed(text: str, cli: Cli) -> list[str]:
    """The `grader` subcommands and options a page names that `grader --help` does not know, as `grader WORDS: what`."""
    wrong = []
    for line in code_lines(text):
        for match in GRADER.finditer(line):
            words = SEPARATOR.split(match[1])[0].split()
            command = parse_command(words, cli)
            if command.unknown and (command.path or COMMAND_POSITION.search(line[: match.start()])):
                wrong.append(f"{' '.join(('grader', *command.path, command.unknown))}: no such command")
                continue
            wrong += [
                f"{' '.join(('grader', *path))}: no option {option}" for path, option in command.options if option not in cli.options[path]
            ]
    return wrong


@dataclass(frozen=True)
class Command:
    """The words after `grader` read as argparse reads them: the command path, each option with the level it was
    given at (a global option before the command is the top level's), and a word where a command goes that is none."""

    path: tuple[str, ...]
    options: tuple[tuple[tuple[str, ...], str], ...]
    unknown: str | None


def parse_command(words: list[str], cli: Cli) -> Command:
    path: tuple[str, ...] = ()
    options: list[tuple[tuple[str, ...], str]] = []
    after_option = False  # the word after an option may be its value, not a command
    for word in words:
        option = OPTION.match(word.lstrip("[("))
        if option:
            options.append((path, option[0]))
        elif word in cli.subcommands(path):
            path = (*path, word)
        elif cli.subcommands(path) and not after_option and re.fullmatch(r"[a-z][a-z0-9-]*", word):
            return Command(path=path, options=tuple(options), unknown=word)
        after_option = option is not None
    return Command(path=path, options=tuple(options), unknown=None)


def lone_options_unknown(text: str, cli: Cli) -> list[str]:
    """Options quoted on their own (`--seed N`) that neither grader nor any other command the page shows has."""
    shown = set(OPTION.findall(" ".join(line for line in code_lines(text) if not line.lstrip().startswith("--"))))
    lone = {span.split()[0] for span in INLINE.findall(outside_fences(text)) if OPTION.fullmatch(span.split()[0])}
    return sorted(lone - cli.every_option() - shown)


def make_targets(text: str) -> set[str]:
    """The targets of every `make` command a page shows (`make grade test` names two)."""
    return {target for line in code_lines(text) for match in MAKE.finditer(line) for target in match[1].split()}


def script(page_blocks: list[Block]) -> tuple[str, dict[int, str]]:
    """A page's runnable blocks as one bash script, and for each script line the page line it came from."""
    lines = ["set -euo pipefail", f"trap 'echo \"{FAILED} $LINENO\" >&2' ERR"]
    origin: dict[int, str] = {}
    for block in page_blocks:
        if block.tag != RUN or block.not_run is not None:
            continue
        for offset, line in enumerate(block.lines):
            lines.append(line)
            origin[len(lines)] = f"line {block.line + offset}: {line.strip()}"
    return "\n".join(lines) + "\n", origin


def _runnable(page: Path) -> bool:
    return any(block.tag == RUN and block.not_run is None for block in blocks(page.read_text(encoding="utf-8")))


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ---- the conventions ---------------------------------------------------------------------------------------------


def untagged(text: str) -> list[str]:
    """Fences that do not say what they hold, as `line N: tag`: a command there would escape the runner."""
    return [f"line {block.line - 1}: {block.tag or '(no tag)'}" for block in blocks(text) if block.tag.lower() in NOT_SH]


def unexplained(text: str) -> list[str]:
    """Not-run marks without a reason (three words at least), on another block than ```sh, or on no block at all."""
    marked = [block for block in blocks(text) if block.not_run is not None]
    problems = [f"line {block.line - 2}: not run, but why?" for block in marked if len((block.not_run or "").split()) < 3]
    problems += [f"line {block.line - 1}: a not-run mark on a ```{block.tag} block" for block in marked if block.tag != RUN]
    if len(NOT_RUN.findall(text)) > len(marked):
        problems.append("a not-run mark that no fenced block follows")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_fenced_block_says_what_it_holds(page):
    assert untagged(page.read_text(encoding="utf-8")) == [], "tag commands ```sh, anything else by its language (json, python, toml, text)"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_command_that_is_not_run_says_why(page):
    assert unexplained(page.read_text(encoding="utf-8")) == [], "`<!-- not run: WHY -->` right before the ```sh block"


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(options=_options((), _help(())))


def _help(path: tuple[str, ...]) -> str:
    return subprocess.run([VENV / "bin" / "grader", *path, "--help"], capture_output=True, text=True, check=True).stdout


def _options(path: tuple[str, ...], text: str) -> dict[tuple[str, ...], frozenset[str]]:
    found = {path: frozenset(HELP_OPTION.findall(text))}
    positional = text.partition("positional arguments:")[2].partition("options:")[0]
    for command in HELP_COMMAND.findall(positional):
        found |= _options((*path, command), _help((*path, command)))
    return found


@pytest.mark.parametrize("page", NAMING_PAGES, ids=_page_id)
def test_every_grader_command_and_option_a_page_names_exists(page, cli):
    text = page.read_text(encoding="utf-8")
    assert misnamed(text, cli) == []
    assert lone_options_unknown(text, cli) == []


@pytest.mark.parametrize("page", NAMING_PAGES, ids=_page_id)
def test_every_make_target_a_page_names_exists(page):
    for target in sorted(make_targets(page.read_text(encoding="utf-8"))):
        # A dry run (-n) decides whether make knows the target and writes nothing.
        known = subprocess.run(["make", "-n", target], cwd=ROOT, env=_environment(), capture_output=True, text=True, check=False)
        assert known.returncode == 0, f"{_page_id(page)}: make {target}: {known.stderr.strip()}"


def test_the_name_check_finds_a_wrong_option_a_wrong_command_and_a_stray_flag(cli):
    page = """Grade with `grader grade subs --out r --seeed 3`, then `grader frobnicate r`, or `--jobz 2`.

```text
grader export REPORTS --format csv --out PATH
              [--rooster ROSTER.csv]   # a synopsis line goes on
FolderBusy   another grader holds REPORTS (prose: no command)
```

```sh
docker run --rm IMAGE grader grade /in --out /out --colder && grader assignment chek x
.venv/bin/grader --global-dir x assignment check a --fast
```
"""
    assert misnamed(page, cli) == [
        "grader export: no option --rooster",
        "grader grade: no option --colder",
        "grader assignment chek: no such command",
        "grader: no option --global-dir",
        "grader assignment check: no option --fast",
        "grader grade: no option --seeed",
        "grader frobnicate: no such command",
    ]
    assert lone_options_unknown(page, cli) == ["--jobz"]
    assert make_targets("Run `make grade test`, then\n```sh\nmake benchh  # the bench\n```\nthe make of it") == {"grade", "test", "benchh"}


def test_the_conventions_refuse_an_untagged_block_and_a_mark_without_its_reason():
    page = (
        "<!-- not run -->\n```sh\nmake test\n```\n\n```\ngrader grade x\n```\n\n```console\n$ ls\n```\n"
        "<!-- not run: a server that runs until Ctrl-C -->\n```text\ngrader review r\n```\n\n<!-- not run: no block follows -->\n"
    )
    assert untagged(page) == ["line 6: (no tag)", "line 10: console"]
    assert unexplained(page) == [
        "line 1: not run, but why?",
        "line 14: a not-run mark on a ```text block",
        "a not-run mark that no fenced block follows",
    ]
    assert [block.lines for block in blocks(page)][:3] == [("make test",), ("grader grade x",), ("$ ls",)]


# ---- running the commands ----------------------------------------------------------------------------------------


def scratch_copy(destination: Path) -> Path:
    """The repository as a reader has it, in `destination`: tracked and not-ignored files copied, the venv linked."""
    destination.mkdir(exist_ok=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    _link_venv(destination / ".venv")
    return destination


def _link_venv(venv: Path) -> None:
    """The tests' venv as the copy's own `.venv`: its entries linked, with a fresh install stamp (the copied
    pyproject.toml is older, so make installs nothing), an `activate` that activates this `.venv`, and `pip`
    refusing: an install would change the venv every test shares (`python -m pip` is not guarded)."""
    (venv / "bin").mkdir(parents=True)
    for entry in VENV.iterdir():
        if entry.name not in {".installed", "bin"}:
            (venv / entry.name).symlink_to(entry)
    for entry in (VENV / "bin").iterdir():
        copy = venv / "bin" / entry.name
        if entry.name.startswith("pip"):
            copy.write_text(PIP_REFUSED, encoding="utf-8")
            copy.chmod(0o755)
        elif entry.name == "activate":
            copy.write_text(entry.read_text(encoding="utf-8").replace(str(VENV), str(venv)), encoding="utf-8")
        else:
            copy.symlink_to(entry)
    (venv / ".installed").touch()


def _environment(venv: Path = VENV) -> dict[str, str]:
    # An outer make's jobserver and level (under `make test`) are not the reader's: the docs' make runs on its own.
    outer = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV"}
    environment = {name: value for name, value in os.environ.items() if name not in outer}
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    return environment


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


def run_bash(text: str, cwd: Path) -> Run:
    """Run a script in a session of its own, killed whole if it outlives PAGE_TIMEOUT (nothing it started is left)."""
    process = subprocess.Popen(
        ["bash", "-c", text],
        cwd=cwd,
        env=_environment(cwd / ".venv"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=PAGE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return Run(returncode=-signal.SIGKILL, output=output + f"\n(killed after {PAGE_TIMEOUT} s)")
    return Run(returncode=process.returncode, output=output)


def failure(page: str, origin: dict[int, str], run: Run) -> str:
    """What went wrong, for a reader of the test log: the page, the doc line and command that failed, the output's tail."""
    line = re.findall(rf"{FAILED} (\d+)", run.output)
    where = origin.get(int(line[-1]), "a command") if line else "a command"
    tail = "\n".join(run.output.splitlines()[-40:])
    return f"{page}: {where} exited {run.returncode}\n{tail}"


def _repository_state() -> tuple[str, tuple[str, ...]]:
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True, check=True)
    return status.stdout, tuple(sorted(path.name for path in (ROOT / "reports").iterdir()))


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`reports/` after the README's `make grade`: every demo class graded once, for every page to start from."""
    repository = scratch_copy(tmp_path_factory.mktemp("graded"))
    run = run_bash("set -euo pipefail\nmake grade\n", repository)
    assert run.returncode == 0, run.output
    return repository / "reports"


def test_pip_is_refused_so_that_no_page_changes_the_shared_venv(tmp_path):
    repository = scratch_copy(tmp_path / "repository")
    run = run_bash(". .venv/bin/activate\npip install -e .\n", repository)
    assert run.returncode != 0 and "not run by tests/test_docs_commands.py" in run.output
    assert "grader" in run_bash(". .venv/bin/activate\ngrader --help\n", repository).output


def test_a_failing_command_is_named_by_its_page_line(tmp_path):
    page = "Set up:\n\n```sh\ntrue\nfalse | cat\necho never\n```\n"
    text, origin = script(blocks(page))
    run = run_bash(text, tmp_path)
    assert run.returncode != 0 and "never" not in run.output
    assert failure("page.md", origin, run).startswith("page.md: line 5: false | cat exited 1")


@pytest.mark.e2e
@pytest.mark.parametrize("page", [page for page in PAGES if _runnable(page)], ids=_page_id)
def test_the_commands_of_a_page_run_from_the_repository_root(page, demo_reports, tmp_path):
    repository = scratch_copy(tmp_path / "repository")
    shutil.copytree(demo_reports, repository / "reports", dirs_exist_ok=True)
    before = _repository_state()
    text, origin = script(blocks(page.read_text(encoding="utf-8")))
    run = run_bash(text, repository)
    assert run.returncode == 0, failure(_page_id(page), origin, run)
    assert _repository_state() == before, f"{_page_id(page)}: a command wrote into the repository"
