"""Models of the review app (built by its issue)."""
