"""Models of the poverty app (built by its issue)."""
