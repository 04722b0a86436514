"""Services of the review app: every write of the reconciliation goes through here."""
