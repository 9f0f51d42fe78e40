"""Assignment 11 (attention), graded through the seam alone."""
