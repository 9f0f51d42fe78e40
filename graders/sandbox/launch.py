"""Cold-path launcher: enter a sandbox, then exec a command in it.

    python -m graders.sandbox.launch POLICY.json [--report REPORT.json] -- ARGV...

POLICY.json holds `SandboxPolicy.to_json()`. The report is written to REPORT.json (opened
before the sandbox hides or freezes anything, so it may live anywhere the caller can write);
its warnings are also printed to stderr. The command runs with the sandbox's limits and
namespaces; the launcher's pid, as seen by the caller, belongs to the sandbox's supervisor,
which exits with the command's status (see graders.sandbox).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from graders.sandbox import SandboxPolicy, enter_sandbox

EXEC_FAILED = 127  # as a shell reports a command it could not run


def parse(argv: list[str]) -> argparse.Namespace:
    """Everything after the first `--` is the command, untouched (it has options of its own)."""
    parser = argparse.ArgumentParser(
        prog="python -m graders.sandbox.launch",
        usage="%(prog)s POLICY.json [--report REPORT.json] -- ARGV...",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("policy", help="JSON file with the SandboxPolicy fields")
    parser.add_argument("--report", help="write the SandboxReport here as JSON")
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
    report = enter_sandbox(policy)
    if report_file is not None:
        with report_file:
            json.dump(report.to_json(), report_file, indent=1)
    for warning in report.warnings:
        print(f"a10-grader sandbox: WARNING: {warning}", file=sys.stderr)
    sys.stderr.flush()
    try:
        os.execvp(args.command[0], args.command)
    except OSError as exc:
        print(f"a10-grader sandbox: cannot run {args.command[0]}: {exc}", file=sys.stderr)
    return EXEC_FAILED


if __name__ == "__main__":
    sys.exit(main())
