"""The Assignment 10 contract: what the handout asks for and what every part of the harness agrees on.

Imported by the handout builder, the answer reader, the probe plan, the self-check and the
executors; it imports nothing from the harness.
"""

from __future__ import annotations

# Tags the cell the grader appends to every notebook: it calls the student's functions and
# publishes raw values. Cells carrying it in a submission are dropped before grading.
PROBE_TAG = "a10-grader-probe"
