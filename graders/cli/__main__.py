"""`python -m graders.cli`: the `grader` command without its console script (tests, the Gradescope bundle)."""

from graders.cli import run

run()
