"""Roll-nip calendering (experimental): one pass of the shipped case, checked for what the nip
must satisfy whatever the material card. The run takes a few minutes (coarse mesh), so every
check here reads the same run.

Tolerances: steady exit porosity 0.5 pp (issue 3); exit mass balance h0(1-eps0) = h(1-eps) lambda
0.1 %; line load (roll reaction) = int p ds over the contact arc 1 % (they differ by the tilt of
the roll normal, ~ (a/R)^2, and the vertical part of friction); penetration <= 1 % of the
thickness reduction; with friction 0.2 the exit porosity within 5 % of a flat press of the same
material to the same minimum thickness (issue 3 asks this for the frictionless nip; friction
changes it by < 0.2 % here); gold values 1e-6 (tests/regression/calender_nmc.json).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from mpi4py import MPI

from conftest import ROOT
from nipstack.case import load_case
from nipstack.calender import Calender
from nipstack.flat_press import FlatPress

pytestmark = pytest.mark.slow     # whole-case runs: `make test`, not `make test-fast`

CASE = ROOT / "cases" / "calender_nmc.toml"


@pytest.fixture(scope="module")
def nip():
    case = load_case(CASE)
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    calender.run()
    return calender, calender.summary()


def test_steady_state_exit_zone(nip):
    _, summary = nip
    assert summary["steady_state_step"] is not None
    assert summary["exit_porosity_spread_pp"] < 0.5
    assert summary["exit_zone_length_mm"] >= summary["contact_length_mm"]


def test_exit_mass_conservation(nip):
    _, summary = nip
    assert abs(summary["exit_mass_balance_error"]) < 1e-3


def test_line_load_equals_pressure_integral(nip):
    _, summary = nip
    assert summary["line_load_N_per_mm"] == pytest.approx(
        summary["nip_pressure_integral_N_per_mm"], rel=0.01)
    # the two rolls carry the same load (the web is in vertical equilibrium; the guiding
    # foundation takes < 0.1 % of it)
    assert summary["line_load_bottom_N_per_mm"] == pytest.approx(
        summary["line_load_N_per_mm"], rel=1e-3)
    assert abs(summary["foundation_force_N_per_mm"]) < 1e-3 * summary["line_load_N_per_mm"]


def test_penetration_is_small(nip):
    calender, summary = nip
    reduction = calender.thickness - summary["gap_mm"]
    assert summary["max_penetration_mm"] <= 0.01 * reduction


def test_exit_porosity_matches_flat_press(nip):
    _, summary = nip
    thickness = summary["thickness_under_roll_mm"]
    press_case = load_case(ROOT / "cases" / "flat_press_nmc.toml",
                           [f"loading.target={thickness!r}"])
    press = FlatPress(press_case, MPI.COMM_WORLD, log=lambda *a: None)
    press.run()
    flat = press.summary()
    assert summary["exit_porosity"] == pytest.approx(flat["final_porosity"], rel=0.05)
    assert summary["porosity_under_roll"] == pytest.approx(flat["porosity_under_load"],
                                                           rel=0.05)


def test_regression(nip):
    _, summary = nip
    gold = json.loads((ROOT / "tests" / "regression" / "calender_nmc.json").read_text())
    for key, value in gold.items():
        assert summary[key] == pytest.approx(value, rel=1e-6), key


def test_a_steady_nip_takes_few_newton_iterations_a_step(nip):
    """With the steady predictor (the increment one element downstream) the rolling steps
    take a median 4 Newton iterations (19 from the kinematic start, docs/benchmarks.md); the
    steps are those the kinematic predictor takes (42, none halved: a steady start that fails
    is solved again from the kinematic start), hence the same gold to 1e-6."""
    calender, _ = nip
    rolling = [record.newton_iterations for record in calender.records
               if record.phase == "rolling"]
    assert len(rolling) == 42
    assert np.median(rolling) <= 6
    assert np.median(rolling[len(rolling) // 2:]) <= 5       # the steady half: 4 each


def test_line_load_control_finds_the_gap(nip):
    """Driven to the line load that the 85 um gap produced, line-load control (a step-wise
    controller on the closure) settles at that gap: measured 85.002 um and 39.43 N/mm. The
    gap is checked to 0.5 %, the line load to 2 % (it ripples +-1.5 % step to step on this
    coarse mesh), and the exit porosity to 0.5 % relative."""
    _, gap_run = nip
    case = load_case(CASE, ['calender.control="line_load"',
                            f"calender.line_load={gap_run['line_load_N_per_mm']!r}"])
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    calender.run()
    load_run = calender.summary()
    assert load_run["gap_mm"] == pytest.approx(gap_run["gap_mm"], rel=5e-3)
    assert load_run["line_load_N_per_mm"] == pytest.approx(gap_run["line_load_N_per_mm"],
                                                          rel=0.02)
    assert load_run["exit_porosity"] == pytest.approx(gap_run["exit_porosity"], rel=5e-3)


def test_short_exit_zone_still_measures_the_elongation():
    """The shortest travel on a coarse linear mesh leaves an exit zone of one cell (two cells
    at 2.6 contact lengths), with no node column (one) between their centroids: the exit
    thickness and the elongation are then measured over the cells from face to face (they
    were 0/0, and with one cell the thickness was a mean over no nodes). Mass balance to 1e-3
    (the coarse mesh's own accuracy; measured -4e-5)."""
    case = load_case(CASE, ["output.fields=false", "output.plots=false",
                            "calender.travel_contact_lengths=2.5",
                            "calender.elements_per_contact_length=3",
                            "solver.element_degree=1"])
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    calender.run()
    summary = calender.summary()
    assert summary["exit_zone_length_mm"] < 1.5 * calender.layout.element_length
    assert 1.0 < summary["machine_direction_elongation"] < 1.01
    assert abs(summary["exit_mass_balance_error"]) < 1e-3
