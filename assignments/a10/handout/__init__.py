"""The handout and the demo submissions, generated from one source (`python -m assignments.a10.handout.build_notebooks`)."""
