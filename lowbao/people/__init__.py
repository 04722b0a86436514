"""People: Person, ID-number validation (GB 11643), protected sensitive fields, masking."""
