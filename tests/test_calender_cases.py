"""The shipped calendering cases besides the NMC one: a double-sided graphite anode on copper,
a free-standing dry film, and the seed 001 LFP electrode rolled towards its supercalendered
state. Each runs once (a few minutes) and is checked for what any nip must satisfy, plus what
its configuration adds.

Tolerances: steady exit zone (spread < 0.5 pp, issue 3); exit mass balance 0.1 %; line load =
int p ds over the arc 1 %; the two rolls carry the same load 0.1 % (vertical equilibrium);
double-sided and free-standing nips are symmetric: the two coatings (the film's two halves)
leave with the same porosity to 0.1 pp; gold values 1e-6 (tests/regression/<case>.json,
written by tests/regression/update_gold.py).
"""
from __future__ import annotations

import json

import pytest
from mpi4py import MPI

from conftest import ROOT
from nipstack.calender import Calender, roll_side_densification
from nipstack.case import load_case

pytestmark = pytest.mark.slow     # whole-case runs: `make test`, not `make test-fast`

CASES = ["calender_graphite_double_sided", "calender_dry_film", "calender_lfp_etiemble"]


@pytest.fixture(scope="module", params=CASES)
def nip(request):
    case = load_case(ROOT / "cases" / f"{request.param}.toml",
                     ["output.fields=false", "output.plots=false"])
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    calender.run()
    return request.param, calender, calender.summary()


def test_nip_balances(nip):
    name, calender, summary = nip
    assert summary["exit_porosity_spread_pp"] < 0.5
    assert abs(summary["exit_mass_balance_error"]) < 1e-3
    assert summary["line_load_N_per_mm"] == pytest.approx(
        summary["nip_pressure_integral_N_per_mm"], rel=0.01)
    assert summary["line_load_bottom_N_per_mm"] == pytest.approx(
        summary["line_load_N_per_mm"], rel=1e-3)
    assert summary["max_penetration_mm"] <= 0.01 * (calender.thickness - summary["gap_mm"])


def test_configuration(nip):
    name, calender, summary = nip
    expected = {"calender_graphite_double_sided": "double_sided",
                "calender_dry_film": "free_standing",
                "calender_lfp_etiemble": "single_sided"}[name]
    assert summary["configuration"] == expected
    if expected == "double_sided":
        layers = summary["exit_porosity_by_layer"]
        assert abs(layers["coating"] - layers["coating_bottom"]) < 1e-3
    if expected == "free_standing":
        profile = summary["exit_porosity_through_thickness"]
        assert abs(profile[0] - profile[-1]) < 1e-3
        # both faces touch a roll: the film's surfaces are compared with its mid-plane
        assert summary["roll_side_densification_pp"] == pytest.approx(
            roll_side_densification(profile, free_standing=True), abs=1e-12)


def test_roll_side_densification_compares_the_right_layers():
    """Foil-backed: foil-side row minus roll-side row. Free-standing: mid-plane (central row,
    or the two central rows) minus the mean of the two surface rows. Percentage points."""
    foil_to_roll = [0.37, 0.36, 0.35, 0.338]
    assert roll_side_densification(foil_to_roll, free_standing=False) == pytest.approx(3.2)
    assert roll_side_densification([0.34, 0.37, 0.38, 0.37, 0.34],
                                   free_standing=True) == pytest.approx(4.0)
    assert roll_side_densification([0.34, 0.36, 0.38, 0.35],
                                   free_standing=True) == pytest.approx(2.5)


def test_regression(nip):
    name, _, summary = nip
    gold = json.loads((ROOT / "tests" / "regression" / f"{name}.json").read_text())
    for key, value in gold.items():
        assert summary[key] == pytest.approx(value, rel=1e-6), key
