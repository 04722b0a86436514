"""Models of the cases app (built by its issue)."""
