"""`python -m graders.cli`: the `grader` command without its console script (tests, the Gradescope bundle)."""

import sys

from graders.cli import main

sys.exit(main())
