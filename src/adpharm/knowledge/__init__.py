"""Cited facts: drugs, classes, targets, PK, adverse effects, pathways, protocols, trials, references."""
from .loader import DATA_DIR, KnowledgeBase, load

__all__ = ["DATA_DIR", "KnowledgeBase", "load"]
