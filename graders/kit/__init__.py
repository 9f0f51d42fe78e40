"""The student kit of any assignment: `build.build_kit(assignment, out)` writes it; `check.py` (this package's
check module, copied verbatim) runs the grader's own checks on the public plan, `table` words what it finds,
`cells` warns of what the grader will not see. The assignment supplies only its own (`Assignment.kit()`)."""
