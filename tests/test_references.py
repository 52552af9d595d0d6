"""Every reference names a primary document (issue 36): a paper with its DOI or PMID, an official label with its
application, authorisation or set id (or on the regulator's own site), a guideline, a database of record, a
laboratory's own published range, a book, a software's documentation. Copies where a text was read (mirrors,
aggregators, vendor pages) go in ``seen_at``, which no face shows; they are never the ``url`` of a reference."""
import ipaddress
import re
from urllib.parse import urlparse

import pytest

from adpharm.knowledge import query
from adpharm.knowledge.loader import load
from adpharm.knowledge.schema import REFERENCE_KINDS

REFS = load().references

#: hosts that are never a source: mirrors and spam, AI-written pages, wikis and notebooks, vendor and
#: manufacturer medical-information pages, consumer-health and drug-information vendors, indexes and
#: aggregators, news, forums, document-sharing sites
BLOCKED_HOSTS = {
    "120ty.net", "butalbitalapap.org", "fastescrowrefills.net", "droracle.ai", "wikimili.com", "benchchem.com",
    "medicinenet.com", "drugs-library.com", "getjapan.org", "rxreasoner.com", "pharmamedix.com", "psychdb.com",
    "psychmed.org", "psychopharmacopeia.com", "medicine.com", "gpnotebook.com", "fpnotebook.com", "healthdigest.org",
    "pielegniarkom.pl", "pubcompare.ai", "scribd.com", "scilit.com", "scilit.net", "semanticscholar.org",
    "studyres.com", "nurse-anesthesia.org", "skyscape.com", "medscape.com", "safetylit.org", "qxmd.com",
    "physiciansweekly.com", "gene2rx.com", "jnjmedicalconnect.com", "lillymedical.co.uk",
    "pfizermedicalinformation.com", "empendium.com", "medlibrary.org", "oddb.org", "mimsdev.com", "glowm.com",
    "wikipedia.org", "drugs.com", "spravatohcp.com", "researchgate.net",
}
#: where an official label lives (the regulator's own copy or the marketing authorisation holder's label file)
LABEL_HOSTS = {"dailymed.nlm.nih.gov", "accessdata.fda.gov", "ema.europa.eu", "swissmedicinfo.ch",
               "medicines.org.uk", "labeling.pfizer.com", "pmda.go.jp"}
#: subdomain labels of servers that are not the public record (staging, QA, development)
NON_PUBLIC = re.compile(r"(^|[.-])(staging|uat|qa|dev\d*|test)([.-]|$)")


def host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def blocked(url: str | None) -> str | None:
    """Why ``url`` cannot be a source, or None."""
    if not url:
        return None
    h = host(url)
    try:
        ipaddress.ip_address(h)
        return "a bare IP address"
    except ValueError:
        pass
    if NON_PUBLIC.search(h):
        return "a staging, QA or development server"
    if any(h == b or h.endswith("." + b) for b in BLOCKED_HOSTS):
        return "a mirror, vendor, wiki, aggregator or consumer page"
    return None


#: a PubMed Central record (its PMCID is NLM's identifier of the paper itself, like a PMID)
PMC_RECORD = re.compile(r"^https://pmc\.ncbi\.nlm\.nih\.gov/articles/PMC\d+/?$")


def locator_problem(r) -> str | None:
    """What is missing for ``r`` to name a primary document of its kind, or None."""
    if r.kind == "paper" and not (r.doi or r.pmid or (r.url and PMC_RECORD.match(r.url))):
        return "a paper without DOI, PMID or PubMed Central id"
    if r.kind == "label" and not (r.identifier or (r.url and host(r.url) in LABEL_HOSTS)):
        return "a label without its application/authorisation/set id or the regulator's copy"
    if r.kind == "book" and not (r.identifier or r.doi):
        return "a book without ISBN"
    if r.kind in ("guideline", "database", "laboratory", "software") and not (r.url or r.doi or r.pmid):
        return f"a {r.kind} without address"
    return blocked(r.url)


#: references still without a primary locator of an allowed kind (issue 36): this list may only shrink. A
#: reference fixed is removed from it (the test says so); a new reference must comply.
KNOWN_VIOLATIONS = {
    "amitriptyline_smpc", "antidepressant_doses_mcmaster", "clomipramine_handbook",
    "clomipramine_rxreasoner", "davis_drug_guide", "gooden2008", "imipramine_tdm_itps2023", "iovieno2012",
    "ketamine_cardiovascular_repeated2019", "venlafaxine_pharmamedix",
}


def test_no_reference_names_a_copy_as_its_source():
    bad = {k: blocked(r.url) for k, r in REFS.items() if blocked(r.url)}
    assert not bad, bad


def test_every_reference_names_a_primary_document_or_is_a_known_violation():
    problems = {k: p for k, r in REFS.items() if (p := locator_problem(r))}
    new = {k: problems[k] for k in set(problems) - KNOWN_VIOLATIONS}
    fixed = KNOWN_VIOLATIONS - set(problems)
    assert not new, f"references without a primary locator: {new}"
    assert not fixed, f"fixed, remove from KNOWN_VIOLATIONS: {sorted(fixed)}"


def test_unchecked_records_are_few():
    unchecked = [k for k, r in REFS.items() if not r.checked]
    assert len(unchecked) / len(REFS) < UNCHECKED_SHARE_MAX, sorted(unchecked)


#: issue 36 asks for under 5 %; the bound may only fall (0.36 once the references read through copies were
#: re-pointed to their primary documents, unread there, in December 2026; 0.29, then 0.22, then 0.15, then 0.125, then 0.12, then 0.055, once the records whose DOI, PMID or label set id
#: the verified calibration tables carry were marked checked; 0.05, issue 36's own bound, once the population-PK
#: record of desipramine was read at PubMed Central; 0.045 once the rater-concordance record named its published
#: paper)
UNCHECKED_SHARE_MAX = 0.045


def test_kinds_are_the_declared_ones():
    assert {r.kind for r in REFS.values()} <= set(REFERENCE_KINDS)


@pytest.mark.parametrize("url,why", [
    ("http://47.251.13.51:8081/24977293", "a bare IP address"),
    ("https://uat.mimsdev.com/thailand/drug/info/esopam", "a staging, QA or development server"),
    ("https://searchworks.staging.jioinstitute.edu.in/articles/x", "a staging, QA or development server"),
    ("https://dev2.psychiatrist.com/jcp/x", "a staging, QA or development server"),
    ("https://qa.testcatalog.org/show/LAB1", "a staging, QA or development server"),
    ("https://www.droracle.ai/articles/1", "a mirror, vendor, wiki, aggregator or consumer page"),
    ("https://pubmed.ncbi.nlm.nih.gov/24977293/", None),
    ("https://billingscliniclaboratory.testcatalog.org/show/LAB1", None),
    ("https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=x", None),
])
def test_the_rule_itself(url, why):
    assert blocked(url) == why


@pytest.mark.parametrize("url,ok", [
    ("https://pmc.ncbi.nlm.nih.gov/articles/PMC6725966", True),
    ("https://pmc.ncbi.nlm.nih.gov/articles/PMC1760736/table/tbl2", False),
    ("https://www.scribd.com/document/535344008/Artikel-1", False),
])
def test_a_pmc_record_identifies_a_paper(url, ok):
    class R:
        kind, doi, pmid, identifier = "paper", None, None, None
    R.url = url
    assert (locator_problem(R) is None) is ok


def test_seen_at_is_never_shown_as_the_source():
    r = next(r for r in REFS.values() if r.seen_at)
    record = query.references([next(k for k, v in REFS.items() if v is r)])
    shown = query.citation(next(iter(record.values())))
    assert r.seen_at not in shown
