"""Authoring: an assignment written as one annotated solution notebook, built into a folder the harness grades.

`annotations` reads the notebook, `build` writes the built folder, `built.BuiltAssignment` is the seam's
implementation for every such folder (found on the assignments path by graders.assignment.registry),
`judging` its behaviour (the harness's value checks), `skeleton` the `grader assignment new` notebook.
Knows no particular assignment. docs/authors.md is the author's guide.
"""
