"""Assignments, one package each, each behind the harness's `Assignment` seam (graders/assignment/spec.py)."""
