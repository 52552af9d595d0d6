"""The web app's routers, one per area; each module's ``router(ctx)`` returns its pages and its JSON API
(under ``/api``), thin over :mod:`adpharm.web.services`."""
from . import assays, compare, drugs, evidence, jobs, simulate, site, transcriptomics, trials

#: every area, in the order the app includes them
AREAS = (site, drugs, compare, simulate, trials, jobs, evidence, assays, transcriptomics)

__all__ = ["AREAS"]
