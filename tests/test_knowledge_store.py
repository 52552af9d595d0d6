"""The SQLite build and the query functions that read it."""
import json

import pytest

from adpharm.errors import AdpharmInputError, UnknownNameError
from adpharm.knowledge import load, query, store


@pytest.fixture(scope="module")
def con():
    return store.build(load())


def test_sqlite_tables_hold_every_record(con, tmp_path):
    kb = load()
    count = lambda t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
    assert count("drug") == len(kb.drugs) == 16
    assert count("reference") == len(kb.references)
    assert count("binding") == sum(len(d.binding) for d in kb.drugs.values())
    assert count("trial") == len(kb.trials)
    # on-disk build works too (the database is a plain SQLite file)
    path = tmp_path / "kb.sqlite"
    store.build(kb, path).close()
    assert path.stat().st_size > 10_000


def test_every_binding_row_cites_resolvable_references(con):
    keys = {r[0] for r in con.execute("SELECT key FROM reference")}
    for row in con.execute("SELECT drug_id, target, refs FROM binding"):
        refs = json.loads(row["refs"])
        assert refs and set(refs) <= keys, (row["drug_id"], row["target"])


def test_imipramine_transporter_affinities_match_tatsumi_1997(con):
    # Tatsumi et al. 1997 (Eur J Pharmacol 340:249), as tabulated in Iversen 2006 Table 2;
    # calibration fact B01: imipramine Kd SERT 1.4, NET 37, DAT 8500 nM.
    b = query.binding("imipramine", con)
    assert (b["SERT"]["value_nm"], b["NET"]["value_nm"], b["DAT"]["value_nm"]) == (1.4, 37, 8500)
    assert "tatsumi1997" in b["SERT"]["refs"] and b["SERT"]["fact"] == "B01"


def test_resolve_accepts_synonyms_and_classes(con):
    assert query.resolve("Tofranil", con) == ("drug", "imipramine")
    assert query.resolve("SPRAVATO", con) == ("drug", "esketamine")
    assert query.resolve("ssri", con) == ("class", "ssri")
    assert query.resolve("tricyclics", con) == ("class", "tca")


def test_unknown_name_suggests_close_matches(con):
    with pytest.raises(UnknownNameError) as exc:
        query.resolve("ketamin3", con)
    assert exc.value.suggestions[0] == "ketamine"
    assert "ketamin3" in str(exc.value)


def test_list_drugs_filters_by_class_and_rejects_a_drug_as_class(con):
    df = query.list_drugs("snri", con)
    assert list(df["drug"]) == ["duloxetine", "venlafaxine"]
    with pytest.raises(AdpharmInputError, match="is a drug, not a class"):
        query.list_drugs("sertraline", con)


def test_class_profile_takes_the_median_of_member_values(con):
    # TCA members' SERT Kd (Tatsumi 1997): imipramine 1.4, desipramine 17.6, amitriptyline 4.3,
    # nortriptyline 18, clomipramine 0.3 -> median 4.3, range 0.3-18.
    prof = query.class_profile("tca", con)
    sert = prof["binding"]["SERT"]
    assert (sert["value"], sert["low"], sert["high"], sert["n_members"]) == (4.3, 0.3, 18, 5)
    # onset spans the members that report one: imipramine 2-3 wk (pooled trials, issue 22), nortriptyline 2-4 wk
    assert (prof["onset"]["low"], prof["onset"]["high"], prof["onset"]["unit"]) == (2, 4, "wk")
    # the union of adverse effects names its members
    assert any("imipramine" in ae["members"] for ae in prof["adverse_effects"])
