"""Transcriptomic signatures: counts → differential expression → overlap, RRHO and honest reversal.

Modules, down the flow:

* :mod:`.readers`  – count matrices (CSV/TSV, gzip, GEO RAW tar), sample sheets, DE tables, GMT, gene lists
* :mod:`.contrasts` – contrast specifications, shared-reference detection, NB group means with DESeq2's dispersions
* :mod:`.dispersion` – DESeq2's size factors and dispersions, vectorised over genes
* :mod:`.de`        – differential expression with PyDESeq2 (the ``transcriptomics`` extra)
* :mod:`.overlap`   – hypergeometric overlap and gene-set enrichment with an explicit universe
* :mod:`.gsea`      – ranked gene-set enrichment (preranked GSEA, gene-set permutation null)
* :mod:`.rrho`      – rank-rank hypergeometric overlap maps in all four directions
* :mod:`.reversal`  – reversal scores that correct for a shared reference group, by region and drug
"""

#: the package's public modules, down the flow
__all__ = ["readers", "contrasts", "dispersion", "de", "shrinkage", "overlap", "gsea", "rrho", "reversal"]
