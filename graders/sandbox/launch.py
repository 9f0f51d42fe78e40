"""Cold-path launcher: enter a sandbox, then exec a command in it.

    python -m graders.sandbox.launch POLICY.json [--report REPORT.json] [--failure FAILURE.txt] [--keep-env NAME,...] -- ARGV...

POLICY.json holds `SandboxPolicy.to_json()`. The report is written to REPORT.json (opened
before the sandbox is entered, so it may live anywhere the caller can write, best outside the
view); its warnings are also printed to stderr. When the sandbox cannot be entered or the command
cannot be run, one line saying why goes to FAILURE.txt (opened before too): the caller's only
account of a kernel that never started, whose stderr nobody reads. With --keep-env the command runs with only
those variables of the launcher's environment, whatever its parent added. The command runs with the sandbox's limits and
namespaces; the launcher's pid, as seen by the caller, belongs to the sandbox's supervisor,
which exits with the command's status (see graders.sandbox).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from graders.sandbox import SandboxPolicy, enter_sandbox

EXEC_FAILED = 127  # as a shell reports a command it could not run
MAX_FAILURE_CHARS = 500


def parse(argv: list[str]) -> argparse.Namespace:
    """Everything after the first `--` is the command, untouched (it has options of its own)."""
    parser = argparse.ArgumentParser(
        prog="python -m graders.sandbox.launch",
        usage="%(prog)s POLICY.json [--report REPORT.json] [--failure FAILURE.txt] [--keep-env NAME,...] -- ARGV...",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("policy", help="JSON file with the SandboxPolicy fields")
    parser.add_argument("--report", help="write the SandboxReport here as JSON")
    parser.add_argument("--failure", help="write why, in one line, when the sandbox or the command cannot start")
    parser.add_argument("--keep-env", help="comma-separated names: the command's whole environment")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.command = argv[split + 1 :]
    if not args.command:
        parser.error("no command given after --")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    with open(args.policy, encoding="utf-8") as handle:
        policy = SandboxPolicy.from_json(json.load(handle))
    report_file = open(args.report, "w", encoding="utf-8") if args.report else None  # noqa: SIM115 - written after entering
    failure_file = open(args.failure, "w", encoding="utf-8") if args.failure else None  # noqa: SIM115 - written after entering
    try:
        report = enter_sandbox(policy)
    except Exception as exc:
        _say_why(failure_file, f"the sandbox could not be entered: {type(exc).__name__}: {exc}")
        raise
    if report_file is not None:
        with report_file:
            json.dump(report.to_json(), report_file, indent=1)
    for warning in report.warnings:
        print(f"a10-grader sandbox: WARNING: {warning}", file=sys.stderr)
    sys.stderr.flush()
    try:
        # S606: exec without a shell is this launcher's job: the command was given by the harness (a kernelspec's
        # argv), and it now runs confined. No shell, so nothing in it is interpreted.
        if args.keep_env is None:
            os.execvp(args.command[0], args.command)  # noqa: S606
        kept = {name: os.environ[name] for name in args.keep_env.split(",") if name in os.environ}
        os.execvpe(args.command[0], args.command, kept)  # noqa: S606
    except OSError as exc:
        _say_why(failure_file, f"cannot run {args.command[0]}: {exc}")
    return EXEC_FAILED


def _say_why(failure_file: TextIO | None, reason: str) -> None:
    print(f"a10-grader sandbox: {reason}", file=sys.stderr)
    if failure_file is not None:
        with failure_file:
            failure_file.write(reason.replace("\n", " ")[:MAX_FAILURE_CHARS] + "\n")


if __name__ == "__main__":
    sys.exit(main())
