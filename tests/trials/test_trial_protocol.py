"""Protocol files: the bundled set, the schema, and malformed files rejected with file, field and reason."""
import pytest
import yaml

from conftest import run_cli
from adpharm.errors import AdpharmInputError
from adpharm.trials.protocol import bundled, load_protocol, visit_hours

BUNDLED = ["esketamine-trd-in", "imipramine-chronic", "ketamine-crossover", "ketamine-trd-iv",
           "ketamine-vs-midazolam", "ssri-mdd-8wk"]


def test_the_six_bundled_protocols_load():
    assert sorted(bundled()) == BUNDLED
    for name in BUNDLED:
        p = load_protocol(name)
        assert p.id == name
        assert p.primary.visit in [v.id for v in p.visits]


def test_protocol_elements_the_issue_names():
    k = load_protocol("ketamine-trd-iv")
    assert [v.id for v in k.visits][:4] == ["baseline", "24h", "72h", "day7"]
    assert k.arm("ketamine").escalation.regimen.count("0.75 mg/kg") == 1
    assert k.population.age_y == (18, 70) and k.population.madrs_min == 20
    i = load_protocol("imipramine-chronic")
    assert i.lead_in.days == 14 and i.lead_in.blind == "single" and i.lead_in.exclude_improvement_frac
    assert i.visits[-1].id == "week6"
    assert load_protocol("ketamine-crossover").crossover.period_days == 7
    m = load_protocol("ketamine-vs-midazolam")
    assert m.reference_arm.id == "midazolam" and m.arm("ketamine").ratio == 2


def test_dropout_rates_are_the_published_counts():
    """Each bundled dropout rate is arithmetic on published counts (the protocol notes give them)."""
    assert load_protocol("imipramine-chronic").dropout.rate.value == pytest.approx(8 / 54, abs=1e-4)     # Kocsis 1988
    assert load_protocol("esketamine-trd-in").dropout.rate.value == pytest.approx(22 / 223, abs=1e-4)    # TRANSFORM-2
    assert load_protocol("ketamine-crossover").dropout.rate.value == pytest.approx(1 / 18, abs=1e-4)     # Zarate 2006


def test_ssri_dropout_rate_recomputed_from_the_linde_file():
    import pandas as pd
    from conftest import data
    d = pd.read_csv(data("linde2015_classes_primary_care"))
    n = lost = 0
    for _, r in d.iterrows():
        ts = [r[f"treatment{k}"] for k in (1, 2, 3)]
        if "SSRI" in ts and "Placebo" in ts:
            for k in (1, 2, 3):
                if r[f"treatment{k}"] in ("SSRI", "Placebo") and pd.notna(r[f"loss{k}"]):
                    n += r[f"n{k}"]
                    lost += r[f"loss{k}"]
    assert load_protocol("ssri-mdd-8wk").dropout.rate.value == pytest.approx(lost / n, abs=1e-4)


@pytest.mark.parametrize("label,hours", [("24h", 24), ("day7", 168), ("week6", 1008), ("40min", 40 / 60),
                                         ("baseline", 0), ("72 h", 72), ("2w", 336), ("visit3", None)])
def test_visit_labels(label, hours):
    assert visit_hours(label) == (None if hours is None else pytest.approx(hours))


def _write(tmp_path, mutate):
    data = yaml.safe_load(bundled()["ketamine-trd-iv"].read_text())
    mutate(data)
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(data))
    return f


@pytest.mark.parametrize("mutate,field,reason", [
    (lambda d: d["arms"][0]["treatments"][0].update(drug="ketamin"), "arms.0.treatments.0.drug", "unknown drug"),
    (lambda d: d["arms"][0]["treatments"][0].update(regimen="0.5 mg/kg rectal"), "arms.0.treatments.0.regimen", ""),
    (lambda d: d["visits"].append({"id": "visit9"}), "visits.6", "time_h"),
    (lambda d: d["endpoints"]["primary"].update(visit="week9"), "<root>", "not one of the visits"),
    (lambda d: d["dropout"].update(model="MNAR", slope=None), "dropout", "slope"),
    (lambda d: d["dropout"]["rate"].update(refs=[], basis="measured"), "dropout.rate", "needs refs"),
    (lambda d: d.update(scales=["MADRS", "PANSS"]), "scales", "PANSS"),
    (lambda d: d["arms"].pop(), "arms", "at least 2"),
    (lambda d: d.update(color="blue"), "color", "Extra inputs"),
    (lambda d: d["randomisation"].update(block_size=3), "<root>", "multiple of the allocation"),
    (lambda d: d.update(refs=["nobody2031"]), "refs", "unknown reference"),
])
def test_malformed_protocols_name_file_field_and_reason(tmp_path, mutate, field, reason):
    f = _write(tmp_path, mutate)
    with pytest.raises(AdpharmInputError) as e:
        load_protocol(f)
    msg = str(e.value)
    assert str(f) in msg and f"field {field}" in msg and reason in msg


def test_cli_rejects_bad_protocol_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\narms: [\n")
    r = run_cli("trial", "simulate", str(bad))
    assert r.returncode == 2 and "bad.yaml" in r.stderr and "not valid YAML" in r.stderr
    r = run_cli("protocol", "no-such-protocol")
    assert r.returncode == 2 and "not a bundled protocol" in r.stderr
    r = run_cli("trial", "simulate", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "not found" in r.stderr


def test_cli_lists_and_shows_protocols():
    import json
    r = run_cli("protocols", "--format", "json")
    assert r.returncode == 0
    assert [p["id"] for p in json.loads(r.stdout)] == BUNDLED
    r = run_cli("protocol", "imipramine-chronic")
    assert r.returncode == 0 and "lead_in:" in r.stdout and "kocsis1988" in r.stdout
