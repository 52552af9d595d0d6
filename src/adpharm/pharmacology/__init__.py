"""Pharmacology: regimens, linear PK models with metabolites, populations, NCA and receptor occupancy."""
