"""Lab assays: field-EPSP slice electrophysiology (and, as they land, forced swim, sucrose
preference and Western blot densitometry) with shared group statistics."""
