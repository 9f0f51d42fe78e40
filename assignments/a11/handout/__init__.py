"""Assignment 11's handout: its cells, the template, the solution and the demo submissions (notebooks.py)."""
