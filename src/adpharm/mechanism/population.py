"""Virtual-patient populations and the moderators of the non-specific (placebo) response.

``populations.yaml`` declares, per population, the baseline MADRS distribution and two medians:
the median maximal improvement from *expectancy* (an acute response to a salient procedure: an
infusion or a nasal-spray session) and from *therapeutic contact* (accruing over the weeks of
care), each with its basis and sources. It also declares the moderators that the simulation
applies: which routes make dosing a salient procedure, and how much expectancy an inert placebo
loses beside a drug whose effects patients notice (functional unblinding).

References
----------
.. [1] Rutherford BR, Roose SP (2013). A model of placebo response in antidepressant clinical
   trials. Am J Psychiatry 170(7):723-733. doi:10.1176/appi.ajp.2012.12040474
.. [2] Wilkinson ST, Farmer C, Ballard ED, et al. (2019). Impact of midazolam vs. saline on effect
   size estimates in controlled trials of ketamine as a rapid-acting antidepressant.
   Neuropsychopharmacology 44:1233-1238. doi:10.1038/s41386-019-0317-8
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..io import load_yaml

from ..errors import AdpharmInputError

#: what an arm's control is: an inert placebo (saline, placebo pill or spray) or an active placebo
CONTROL_KINDS = ("inert", "active")


@dataclass(frozen=True)
class Value:
    """A number with its basis and sources."""

    value: float
    basis: str
    refs: tuple[str, ...]
    note: str | None = None

    def to_dict(self) -> dict:
        return {"value": self.value, "basis": self.basis, "refs": list(self.refs), "note": self.note}


@dataclass(frozen=True)
class Population:
    """One population: baseline severity and the two placebo medians (fractions of the baseline score)."""

    name: str
    label: str
    madrs_baseline_mean: Value
    madrs_baseline_sd: Value
    madrs_min: float
    madrs_max: float
    contact_median_frac: Value
    expectancy_median_frac: Value

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "madrs_min": self.madrs_min, "madrs_max": self.madrs_max,
                **{k: getattr(self, k).to_dict() for k in ("madrs_baseline_mean", "madrs_baseline_sd",
                                                            "contact_median_frac", "expectancy_median_frac")}}


@dataclass(frozen=True)
class Populations:
    """Every population and the moderators of the placebo response."""

    version: str
    default: str
    populations: dict[str, Population]
    expectancy_routes: tuple[str, ...]
    unblinding_classes: tuple[str, ...]
    unblinding_frac: Value

    def get(self, name: str | None) -> Population:
        """The population called ``name`` (the default when None); unknown names are a clear error."""
        key = self.default if name is None else str(name).strip().lower()
        if key not in self.populations:
            raise AdpharmInputError(f"population: unknown {name!r} (known: {', '.join(self.populations)})")
        return self.populations[key]

    def expectancy_applies(self, routes) -> bool:
        """Whether dosing by these routes is a salient procedure (expectancy in every arm)."""
        return any(r in self.expectancy_routes for r in routes)

    def expectancy_factor(self, control: str | None, drug_classes) -> float:
        """Fraction of the expectancy an arm keeps: 1 for drug arms (``control`` None) and active
        placebos, ``1 - unblinding`` for an inert placebo beside a drug of an unblinding class."""
        if control is not None and control not in CONTROL_KINDS:
            raise AdpharmInputError(f"{control!r} must be one of {', '.join(CONTROL_KINDS)}", field="control")
        if control == "inert" and any(c in self.unblinding_classes for c in drug_classes):
            return 1.0 - self.unblinding_frac.value
        return 1.0

    def arm_factor(self, routes, drug_classes, control: str | None) -> float:
        """The expectancy factor of one arm of a trial dosing by ``routes`` with drugs of ``drug_classes``:
        0 without a salient procedure (every arm receives the same procedure, so all or none have one),
        else :meth:`expectancy_factor` (``control`` None for a drug arm)."""
        return self.expectancy_factor(control, drug_classes) if self.expectancy_applies(routes) else 0.0


def _value(raw: dict, where: str) -> Value:
    try:
        return Value(float(raw["value"]), str(raw["basis"]), tuple(raw.get("refs", [])), raw.get("note"))
    except (KeyError, TypeError, ValueError) as e:
        raise AdpharmInputError(f"populations.yaml: {where}: needs value, basis and refs ({e})") from None


@lru_cache(maxsize=1)
def load_populations() -> Populations:
    """The bundled populations (``mechanism/populations.yaml``)."""
    raw = load_yaml(resources.files(__package__).joinpath("populations.yaml").read_text())
    pops = {}
    for name, p in raw["populations"].items():
        pops[name] = Population(name, p["label"], _value(p["madrs_baseline_mean"], f"{name}.madrs_baseline_mean"),
                                _value(p["madrs_baseline_sd"], f"{name}.madrs_baseline_sd"),
                                float(p["madrs_min"]), float(p["madrs_max"]),
                                _value(p["contact_median_frac"], f"{name}.contact_median_frac"),
                                _value(p["expectancy_median_frac"], f"{name}.expectancy_median_frac"))
    unb = raw["unblinding"]
    out = Populations(str(raw["version"]), raw["default"], pops, tuple(raw["expectancy_routes"]),
                      tuple(unb["classes"]), _value(unb["frac"], "unblinding.frac"))
    out.get(out.default)
    return out


def population_names() -> list[str]:
    return list(load_populations().populations)
