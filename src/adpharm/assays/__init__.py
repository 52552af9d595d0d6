"""Lab assays: field-EPSP slice electrophysiology, forced swim (tables and video), sucrose preference and Western
blot densitometry, with shared group statistics. Entry points: each module's ``analyse``."""

#: the package's public modules, down the flow
__all__ = ["ephys", "ltp", "ltp_groups", "nested", "fst", "fst_video", "spt", "western", "rolling_ball", "stats", "design",
           "exclusions", "reporting", "tables", "batch", "figures"]
