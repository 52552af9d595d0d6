"""Safety content of the guides (issue 36, item 5): one cited row per fact, filed under its kind, for every class and
drug it applies to; no duplicated interactions; contraindications that are conditions, not drugs; the MAOI outputs
state that the modelled MAO-A recovery is only its fast phase, beside the sourced washouts."""
import shutil

import pytest
import yaml

from adpharm.errors import AdpharmInputError
from adpharm.knowledge import query
from adpharm.knowledge.loader import DATA_DIR, bundled, load
from adpharm.knowledge.schema import SAFETY_KINDS
from adpharm.report.comparison import _safety
from conftest import run_cli

KB = bundled()

#: what each side must carry (issue 36 item 5), as (fact topic, kind)
REQUIRED = {
    "ssri": {("suicidality", "boxed_warning"), ("overdose", "toxicity"), ("QT prolongation", "warning"),
             ("hyponatraemia", "warning"), ("discontinuation", "warning"), ("MAOI washout", "washout"),
             ("CYP2D6 inhibition", "interaction")},
    "tca": {("suicidality", "boxed_warning"), ("overdose", "toxicity"), ("CYP2D6 inhibition", "interaction")},
    "snri": {("suicidality", "boxed_warning"), ("overdose", "toxicity"), ("hyponatraemia", "warning")},
    "maoi": {("suicidality", "boxed_warning"), ("overdose", "toxicity"), ("orthostatic hypotension", "warning"),
             ("MAOI washout", "washout"), ("tyramine sensitivity", "washout"), ("contraindications", "contraindication")},
    "esketamine": {("suicidality", "boxed_warning"), ("contraindications", "contraindication"),
                   ("monitoring", "monitoring"), ("REMS", "monitoring"), ("sedation and dissociation", "warning")},
}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_side_carries_its_safety_facts(name):
    got = {(f.topic, f.kind) for f in KB.safety_for(name)}
    assert REQUIRED[name] <= got, REQUIRED[name] - got


@pytest.mark.parametrize("drug", sorted(d for d, x in KB.drugs.items() if x.drug_class != "nmda_antagonist")
                         + ["esketamine"])
def test_every_antidepressant_carries_the_boxed_warning_with_its_age_gradient(drug):
    boxed = [f for f in KB.safety_for(drug) if f.kind == "boxed_warning"]
    assert boxed and "under 18 +14" in boxed[0].text and "65 and older -6" in boxed[0].text


def test_facts_are_one_row_each_and_cite_primary_documents():
    texts = [f.text for f in KB.safety]
    assert len(texts) == len(set(texts)) and {f.kind for f in KB.safety} <= set(SAFETY_KINDS)
    for f in KB.safety:
        for r in f.refs:
            ref = KB.references[r]
            assert ref.doi or ref.pmid or ref.identifier or ref.url, (f.id, r)


@pytest.mark.parametrize("cls", sorted(KB.classes))
def test_class_interactions_are_not_duplicated_and_contraindications_are_conditions(cls):
    prof = query.class_profile(cls)
    agents = [i["agent"] for i in prof["interactions"]]
    assert len(agents) == len(set(agents)), agents
    for c in prof["contraindications"]:
        assert "MAOI" not in c["value"] and "food" not in c["value"], c["value"]
    names = [a["name"] for a in prof["adverse_effects"]]
    assert not [n for n in names if "serotonin syndrome" in n and "MAOI" in n]   # an interaction, listed as one


def test_the_guide_states_the_washout_beside_the_modelled_mao_a_recovery(tmp_path):
    out = tmp_path / "g.md"
    r = run_cli("compare", "ketamine", "maoi", "--format", "md", "--out", str(out))
    assert r.returncode == 0, r.stderr
    safety = out.read_text().split("## Safety", 1)[1].split("## Experimental", 1)[0]
    maoi = safety.split("### Monoamine oxidase inhibitor", 1)[1]
    assert "modelled MAO-A recovery" in maoi and "2 weeks (14 days) before fluoxetine" in maoi
    assert "30 days after tranylcypromine" in maoi and "13.5 deaths per million" in maoi


@pytest.mark.parametrize("drug", ["phenelzine", "tranylcypromine"])
def test_maoi_pk_outputs_warn_that_the_modelled_recovery_is_the_fast_phase(drug):
    for cmd in (["pk", "simulate"], ["pk", "occupancy"], ["pk", "tdm"]):
        r = run_cli(*cmd, "--drug", drug, "--regimen", "10 mg po bid", *([] if cmd[1] == "tdm" else ["--hours", "48"]),
                    *(["--n", "20"] if cmd[1] == "tdm" else []))
        assert r.returncode == 0, r.stderr
        assert "only the fast phase" in r.stderr and "5 weeks" in r.stderr and "[bieck1989]" in r.stderr, cmd
    r = run_cli("pk", "simulate", "--drug", "sertraline", "--regimen", "50 mg po daily", "--hours", "48")
    assert "fast phase" not in r.stderr


@pytest.mark.parametrize("side", ["ssri", "tca", "maoi", "esketamine", "imipramine", "citalopram"])
def test_guide_rows_name_the_member_a_drug_specific_fact_concerns(side):
    rows = _safety(query.profile(side))
    assert rows and all(r["refs"] for r in rows)
    if side == "ssri":
        assert any("[citalopram]" in r["value"] for r in rows if "torsade" in r["value"])
    if side == "citalopram":
        assert not any("[citalopram]" in r["value"] for r in rows)


@pytest.mark.parametrize("mutate, needle", [
    (lambda rows: rows[0].update(applies_to=["nosuchdrug"]), "'nosuchdrug' is neither a drug nor a class"),
    (lambda rows: rows.append(dict(rows[0])), "is given twice"),
    (lambda rows: rows[0].update(kind="rumour"), "kind"),
    (lambda rows: rows[0].update(refs=["nosuchref"]), "unknown reference key 'nosuchref'"),
])
def test_a_bad_safety_file_names_the_field(tmp_path, mutate, needle):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    rows = yaml.safe_load((data / "safety.yaml").read_text())
    mutate(rows)
    (data / "safety.yaml").write_text(yaml.safe_dump(rows))
    with pytest.raises(AdpharmInputError, match="safety.yaml") as e:
        load(data)
    assert needle in str(e.value)


@pytest.mark.parametrize("side", sorted(KB.classes) + ["sertraline", "esketamine", "phenelzine", "imipramine"])
def test_pk_rows_give_dose_and_route_and_no_class_median_for_dose_dependent_values(side):
    """Issue 36 item 6: Cmax, Tmax and half-life are listed per drug with their conditions (the source's dose and
    route, or that the source gives none), never as a class median; sertraline and esketamine have sourced
    half-lives (DeVane 2002: 22-36 h; Spravato label: 7-12 h); an irreversible MAOI's half-life row says what sets
    the duration of its effect."""
    from adpharm.report.comparison import PK_WITH_CONDITIONS, _pk_cell
    prof = query.profile(side)
    for param in PK_WITH_CONDITIONS:
        c = _pk_cell(prof, param, None)
        if c is None:
            continue
        assert "median" not in c["value"] and "(" in c["value"]
        if prof["kind"] == "class":
            assert ": " in c["value"]
    if side in ("sertraline", "esketamine"):
        assert _pk_cell(prof, "half_life_h", None)["value"].startswith(("22-36 h", "7-12 h"))
    if side in ("maoi", "phenelzine"):
        assert "MAO-A returns by resynthesis" in _pk_cell(prof, "half_life_h", None)["value"]
