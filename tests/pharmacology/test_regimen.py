"""Regimen strings as design.md writes them, and the errors bad ones give."""
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.pharmacology.regimen import parse_regimen


def times(text, until_h=24 * 28):
    return [e.time_h for e in parse_regimen(text).events(until_h)]


def test_single_infusion():
    (ev,) = parse_regimen("0.5 mg/kg iv over 40 min").events(48)
    assert (ev.time_h, ev.dose, ev.dose_unit, ev.route) == (0.0, 0.5, "mg/kg", "iv")
    assert ev.duration_h == pytest.approx(40 / 60)
    assert ev.dose_mg(80.0) == pytest.approx(40.0)


def test_three_times_weekly_for_two_weeks():
    # Monday, Wednesday, Friday for 2 weeks: 6 infusions
    assert times("0.5 mg/kg iv over 40 min 3x/week for 2 weeks") == [0, 48, 96, 168, 216, 264]


def test_twice_weekly_and_daily_and_bid():
    assert times("56 mg intranasal twice weekly for 2 weeks") == [0, 72, 168, 240]
    assert times("20 mg po daily", until_h=72) == [0, 24, 48]
    assert times("50 mg po bid", until_h=36) == [0, 12, 24]
    assert times("10 mg po every 8 h", until_h=24) == [0, 8, 16]


def test_titration_rises_linearly_then_holds():
    ev = parse_regimen("75 mg po daily titrate to 150 mg over 2 weeks").events(24 * 21)
    doses = [e.dose for e in ev]
    assert doses[0] == 75 and doses[7] == pytest.approx(75 + 75 * 7 / 14)
    assert doses[14:] == [150.0] * 7


def test_phases_run_in_order():
    ev = parse_regimen("25 mg sublingual every 12 h for 1 day; 50 mg po daily").events(72)
    assert [(e.time_h, e.route) for e in ev] == [(0, "sublingual"), (12, "sublingual"), (24, "po"), (48, "po")]


def test_weekly_days_keep_the_regimens_calendar_when_a_phase_starts_mid_week():
    """TRANSFORM-2's sessions on days 1, 4, 8, 11, ... (0, 72, 168, 240 h): a switch to 84 mg at the day-4
    session keeps them, and a phase that starts at a week boundary is unchanged."""
    ev = parse_regimen("56 mg intranasal 2x/week for 3 days; 84 mg intranasal 2x/week for 25 days").events(672)
    assert [(e.time_h, e.dose) for e in ev] == [(0, 56), (72, 84), (168, 84), (240, 84), (336, 84), (408, 84),
                                                 (504, 84), (576, 84)]
    assert times("56 mg intranasal 2x/week for 1 week; 84 mg intranasal 2x/week for 3 weeks") == times(
        "56 mg intranasal 2x/week for 4 weeks")
    assert times("0.5 mg/kg iv over 40 min 3x/week for 2 days; 0.75 mg/kg iv over 40 min 3x/week for 5 days",
                 until_h=168) == [0, 48, 96]


def test_bolus_and_units():
    (ev,) = parse_regimen("500 mcg iv bolus").events(1)
    assert ev.dose == pytest.approx(0.5) and ev.duration_h == 0


@pytest.mark.parametrize("text, part", [
    ("-5 mg po daily", "'-5 mg' is negative"),
    ("0 mg po", "'0 mg' is zero"),
    ("50 mg rectal", "unknown route 'rectal'"),
    ("50 mg zz daily", "unknown route 'zz'"),
    ("fifty mg po", "no dose found"),
    ("20 mg po over 10 min", "needs route iv"),
    ("20 mg po daily bid", "more than one frequency"),
    ("20 mg po daily; 10 mg po", "never starts"),
    ("20 mg po daily for 0 days", "must be positive"),
    ("", "empty regimen"),
])
def test_bad_regimens_name_the_part(text, part):
    with pytest.raises(AdpharmInputError) as exc:
        parse_regimen(text).events(100)
    assert part in str(exc.value)
