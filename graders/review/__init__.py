"""`grader review`: the staff web app over the gradebook (ARCHITECTURE.md, "The review app").

A regular package, not a namespace one, so that import-linter's graph (and its layers contract) sees it.
"""
