"""Facts of the knowledge base that an expert audit corrected (issue 22), each pinned with its source.

- Ebert 1997 (PMID 9311667): [3H]MK-801 binding in rat brain, (S)-ketamine Ki 0.3 uM, (R)-ketamine
  1.4 uM, (S)-norketamine 1.7 uM, (R)-norketamine 13 uM; the racemates are 1:1 mixtures.
- Esketamine's label: plasma protein binding 43-45 % (E07), used for the racemate.
- Pharmacotherapy 2022;42:298 Table 6: intranasal ketamine F 17 %, 13 %, 11 % after 10, 30, 50 mg.
- Gooden 2008: tranylcypromine's 37.3 uM at MAO-A is a mechanism-based inactivation constant (KI).
"""
import pytest

from adpharm.knowledge import query
from adpharm.knowledge.loader import load
from tests.conftest import run_cli

KB = load()
#: (racemate, single enantiomer) pairs among the bundled drugs
CHIRAL_PAIRS = [("ketamine", "esketamine"), ("citalopram", "escitalopram")]
#: their metabolites that the PK models carry: (racemic metabolite, the enantiomer's metabolite)
CHIRAL_METABOLITES = [("norketamine", "noresketamine")]


def test_chiral_pairs_cover_every_bundled_enantiomer():
    """An ``es``-drug whose racemate is bundled is listed, so a new pair cannot skip the check below."""
    found = {(d[2:], d) for d in KB.drugs if d.startswith("es") and d[2:] in KB.drugs}
    assert found == set(CHIRAL_PAIRS)


def _pk_binding(name):
    for spec in KB.pk_models.values():
        for a in spec.analytes:
            if a.name == name:
                return {t: b.value for t, b in a.binding.items()}
    raise KeyError(name)


@pytest.mark.parametrize("racemate, enantiomer", CHIRAL_PAIRS)
def test_no_racemate_binds_more_strongly_than_its_stronger_enantiomer(racemate, enantiomer):
    r, e = KB.drugs[racemate].binding, KB.drugs[enantiomer].binding
    shared = set(r) & set(e)
    assert shared
    for t in shared:
        assert r[t].value >= e[t].value, (t, r[t].value, e[t].value)
    if racemate in KB.pk_models and enantiomer in KB.pk_models:
        rp, ep = _pk_binding(racemate), _pk_binding(enantiomer)
        for t in set(rp) & set(ep):
            assert rp[t] >= ep[t]


@pytest.mark.parametrize("racemic, single", CHIRAL_METABOLITES)
def test_no_racemic_metabolite_binds_more_strongly_than_the_enantiomers(racemic, single):
    r, s = _pk_binding(racemic), _pk_binding(single)
    for t in set(r) & set(s):
        assert r[t] >= s[t]


def test_ketamine_nmda_from_one_primary_source():
    """Ebert 1997 for every ketamine species; the racemates as 1:1 mixtures competing for one site."""
    mix = lambda s, r: 1 / (0.5 / s + 0.5 / r)
    ket = KB.drugs["ketamine"].binding["NMDA"]
    assert ket.value == pytest.approx(mix(300, 1400), abs=0.5) and ket.refs == ["ebert1997"]
    assert _pk_binding("ketamine")["NMDA"] == ket.value
    assert _pk_binding("norketamine")["NMDA"] == pytest.approx(mix(1700, 13000), abs=0.5)
    assert _pk_binding("esketamine")["NMDA"] == 300 and _pk_binding("noresketamine")["NMDA"] == 1700
    assert KB.drugs["esketamine"].binding["NMDA"].refs == ["ebert1997"]
    assert KB.references["ebert1997"].pmid == "9311667"


def test_tranylcypromine_ki_is_an_inactivation_constant():
    for target in ("MAO-A", "MAO-B"):
        b = KB.drugs["tranylcypromine"].binding[target]
        assert b.measure == "KI" and not b.reversible and b.refs == ["gooden2008"]
    assert "not an affinity" in query.measure_label("KI")
    spec = KB.pk_models["tranylcypromine"].analytes[0].inactivation["MAO-A"]
    assert spec.ki_nm == KB.drugs["tranylcypromine"].binding["MAO-A"].value == 37300


def test_ketamine_protein_binding_is_one_sourced_value():
    pb = KB.drugs["ketamine"].pk.protein_binding_pct
    assert (pb.low, pb.high) == (43, 45) and pb.refs == ["spravato_label_summary"] and pb.fact == "E07"
    fu = KB.pk_models["ketamine"].analytes[0].fu.value
    assert pb.low <= 100 * (1 - fu) <= pb.high


def test_intranasal_ketamine_bioavailability_chosen_with_the_other_shown():
    path = KB.pk_models["ketamine"].routes["intranasal"].paths[0]
    assert path.f.value == 0.13 and path.f.refs == ["pharmacotherapy2022_ketamine"]
    assert "45 %" in path.f.note and "Yanagihara" in path.f.note
    assert "45 %" in KB.drugs["ketamine"].pk.bioavailability_pct.conditions


def test_reference_records_fixed():
    b = KB.references["brosen1986"]
    assert b.journal == "Eur J Clin Pharmacol 30(6):679-684" and b.doi == "10.1007/BF00608215"
    v = KB.references["venlafaxine_postmortem1996"]
    assert v.authors.startswith("Levine B") and "Office" not in v.authors


@pytest.mark.parametrize("drug", sorted(KB.drugs))
def test_onset_cites_no_summary_record_or_nurses_guide(drug):
    onset = KB.drugs[drug].onset
    if onset is None:
        pytest.skip(f"{drug} has no onset")
    for k in onset.refs:
        r = KB.references[k]
        assert "summary record" not in r.authors + r.title and "Nurses" not in r.authors, (drug, k)


def test_onset_rows_of_the_comparison_cite_primary_trials():
    assert set(KB.drugs["ketamine"].onset.refs) == {"zarate2006", "berman2000"}
    assert set(KB.drugs["imipramine"].onset.refs) == {"stassen1998"}


def _flagged(v) -> bool:
    return (not v.get("verified", True)) or v.get("confidence") == "low"


@pytest.mark.parametrize("drug", sorted(KB.drugs))
def test_drug_text_marks_every_unverified_or_low_confidence_value(drug):
    r = run_cli("drug", drug)
    assert r.returncode == 0, r.stderr
    prof = query.profile(drug)
    lines = r.stdout.splitlines()
    items = [(f"  {t:<7}", b) for t, b in prof.get("binding", {}).items()]
    items += [(f"  {p:<22}", v) for p, v in prof.get("pk", {}).items() if v]
    for head, v in items:
        line = next(ln for ln in lines if ln.startswith(head))
        if _flagged(v):
            assert "unverified" in line or "confidence low" in line, line
    refs = query.references()
    for head, v in items:
        cited = [refs[k] for k in v["refs"]]
        if cited and not any(c.get("checked", True) for c in cited):
            assert "record not checked" in next(ln for ln in lines if ln.startswith(head))
