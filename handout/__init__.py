"""The handout and the demo submissions, generated from one source (`python -m handout.build_notebooks`)."""
