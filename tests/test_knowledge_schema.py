"""The knowledge base validates at load and rejects broken files naming the file and field."""
import re

import pytest
import yaml

from adpharm.errors import AdpharmInputError
from adpharm.knowledge import load
from adpharm.knowledge.schema import TARGETS

DRUGS = ["ketamine", "esketamine", "imipramine", "desipramine", "amitriptyline", "nortriptyline", "clomipramine",
         "fluoxetine", "sertraline", "paroxetine", "citalopram", "escitalopram", "venlafaxine", "duloxetine",
         "phenelzine", "tranylcypromine"]


def test_bundled_knowledge_base_loads_with_every_required_drug_and_class():
    kb = load()
    assert sorted(kb.drugs) == sorted(DRUGS)
    assert set(kb.classes) == {"nmda_antagonist", "tca", "ssri", "snri", "maoi"}
    assert {"glutamatergic", "monoaminergic"} <= set(kb.pathways)
    # Linde 2015: 66 trials; those with responders in >= 2 arms of TCA/SSRI/SNRI/placebo are kept
    assert sum(t.id.startswith("linde2015_") for t in kb.trials) >= 30


def test_every_reference_has_a_locator_and_every_key_is_used():
    kb = load()
    for key, ref in kb.references.items():
        assert ref.doi or ref.pmid or ref.identifier or ref.url or ref.seen_at, key


def _corrupt(path, edit):
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize("edit, field_pattern", [
    (lambda d: d["binding"]["SERT"].pop("refs"), r"field binding\.SERT\.refs"),
    (lambda d: d["binding"]["SERT"].update(refs=["nobody2099"]), r"binding\.SERT\.refs: unknown reference key 'nobody2099'"),
    (lambda d: d["binding"]["SERT"].update(value=-1.4), r"field binding\.SERT.*negative"),
    (lambda d: d["binding"]["SERT"].update(value=float("nan")), r"field binding\.SERT.*not a finite number"),
    (lambda d: d["onset"].update(high=float("inf")), r"field onset.*not a finite number"),
    (lambda d: d["binding"].update(XYZ=d["binding"]["SERT"]), r"field binding\.XYZ"),
    (lambda d: d["binding"]["SERT"].update(unit="uM"), r"field binding\.SERT\.unit.*nM"),
    (lambda d: d.update(drug_class="tetracyclic"), r"field drug_class: unknown class 'tetracyclic'"),
    (lambda d: d["pk"].update(half_life_days={"value": 1, "unit": "d", "refs": ["abernethy1984"]}), r"field pk\.half_life_days"),
    (lambda d: d["adverse_effects"][0].update(frequency_pct=140), r"field adverse_effects\.0\.frequency_pct"),
])
def test_broken_drug_file_is_rejected_naming_file_and_field(data_copy, edit, field_pattern):
    path = data_copy / "drugs" / "imipramine.yaml"
    _corrupt(path, edit)
    with pytest.raises(AdpharmInputError) as exc:
        load(data_copy)
    msg = str(exc.value)
    assert "imipramine.yaml" in msg
    assert re.search(field_pattern, msg), msg


def test_invalid_yaml_names_the_line(data_copy):
    path = data_copy / "classes.yaml"
    path.write_text(path.read_text() + "\nbroken: [unclosed\n")
    with pytest.raises(AdpharmInputError, match=r"classes\.yaml: line \d+ is not valid YAML"):
        load(data_copy)


def test_reference_without_locator_is_rejected(data_copy):
    path = data_copy / "references.yaml"
    _corrupt(path, lambda d: [d["tatsumi1997"].pop(k) for k in ("doi", "pmid")])
    with pytest.raises(AdpharmInputError, match=r"references\.yaml: field tatsumi1997.*doi, pmid, identifier, url"):
        load(data_copy)


def test_trial_with_more_responders_than_patients_is_rejected(data_copy):
    path = data_copy / "trials.yaml"
    data = yaml.safe_load(path.read_text())
    data[0]["arms"][0]["responders"] = 99
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(AdpharmInputError, match=r"trials\.yaml: field \[0\]\.arms\.0.*exceeds n"):
        load(data_copy)


def test_class_member_must_exist_and_declare_the_class(data_copy):
    path = data_copy / "classes.yaml"
    _corrupt(path, lambda d: d["ssri"]["members"].append("imipramine"))
    with pytest.raises(AdpharmInputError, match=r"classes\.yaml: field ssri\.members: 'imipramine' declares class 'tca'"):
        load(data_copy)


def test_pathway_edge_to_unknown_node_is_rejected(data_copy):
    path = data_copy / "pathways.yaml"
    _corrupt(path, lambda d: d["glutamatergic"]["edges"].append(
        {"source": "mtorc1", "target": "nowhere", "effect": "activates", "timescale": "h", "refs": ["li2010"]}))
    with pytest.raises(AdpharmInputError, match=r"pathways\.yaml: field glutamatergic.*unknown node 'nowhere'"):
        load(data_copy)


def test_binding_targets_cover_the_issue_list():
    assert set(TARGETS) >= {"SERT", "NET", "DAT", "NMDA", "H1", "M1", "ALPHA1", "5-HT2A", "5-HT2C"}


@pytest.mark.parametrize("path, edit, where", [
    ("protocols/western-blot.yaml", lambda d: d["refs"].append("ghost2001"), r"field western-blot\.refs"),
    ("protocols/western-blot.yaml", lambda d: d["steps"][0]["refs"].append("ghost2001"), r"field western-blot\.steps\[0\]\.refs"),
])
def test_unknown_reference_anywhere_in_a_protocol_is_rejected(data_copy, path, edit, where):
    _corrupt(data_copy / path, edit)
    with pytest.raises(AdpharmInputError, match=where + r": unknown reference key 'ghost2001'"):
        load(data_copy)


def test_unknown_reference_on_a_trial_is_rejected(data_copy):
    path = data_copy / "trials.yaml"
    data = yaml.safe_load(path.read_text())
    data[1]["refs"] = ["ghost2001"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(AdpharmInputError, match=r"trials\.yaml: field lapidus2014\.refs: unknown reference key 'ghost2001'"):
        load(data_copy)
