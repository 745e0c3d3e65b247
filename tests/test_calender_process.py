"""Roll-nip calendering against process physics: line speed, relaxation, the frictionless nip,
mesh refinement and the friction pattern (issue 3).

All runs use the shipped NMC case on a coarser mesh than the case file (COARSE: 4 elements per
contact length, 3 through the coating, 3 contact lengths of travel; about a minute each) and
compare it with the shipped mesh through its gold values (tests/regression/calender_nmc.json:
6 elements per contact length, 4 through the coating).

Tolerances (issue 3):
- rate-independent coating: exit porosity at 1 and 5 m/min within 0.2 pp. Nothing in the model
  but the law sees the line speed (the friction regularisation is per step), so they agree to
  round-off; the test allows the issue's 0.2 pp;
- with a relaxation time tau = 10 ms (dwell ~20 ms at 5 m/min) the faster line leaves a higher
  porosity, by more than 0.5 pp (measured 1.4 pp);
- frictionless nip (web pulled by the winder): exit porosity within 5 % of a flat press of the
  same material to the same minimum thickness, and zero roll torque;
- mesh refinement: COARSE vs the shipped mesh, exit porosity within 0.5 pp;
- friction: a neutral point inside the contact arc, the top roll's shear turning from driving
  (entry) to braking (exit), the friction mobilised at most mu p, and the torques of the two
  rolls adding up to the horizontal force balance of the web (|T_top + T_bottom| / R below
  5 % of mu w: the web is free in x);
- roll-side gradient: the foil-backed coating sticks to the roll (shear/pressure below 0.03 at
  the pressure peak), so friction leaves no through-thickness gradient (within 0.05 pp).
"""
from __future__ import annotations

import json

import pytest
from mpi4py import MPI

from conftest import ROOT, run_cli
from nipstack.calender import Calender
from nipstack.case import load_case
from nipstack.flat_press import FlatPress

pytestmark = pytest.mark.slow     # whole-case runs: `make test`, not `make test-fast`

CASE = ROOT / "cases" / "calender_nmc.toml"
COARSE = ["calender.elements_per_contact_length=4", "calender.travel_contact_lengths=3",
          "layers.1.elements=3", "output.fields=false", "output.plots=false"]
SLOW, FAST = 16.667, 83.33          # mm/s: 1 and 5 m/min
RELAXATION = ["layers.1.parameters.relaxation_time=0.01"]


def _run(overrides):
    calender = Calender(load_case(CASE, COARSE + overrides), MPI.COMM_WORLD,
                        log=lambda *a: None)
    calender.run()
    return calender.summary()


@pytest.fixture(scope="module")
def rate_independent():
    return {speed: _run([f"calender.line_speed={speed}"]) for speed in (SLOW, FAST)}


def test_rate_independent_coating_ignores_line_speed(rate_independent):
    slow, fast = rate_independent[SLOW], rate_independent[FAST]
    assert abs(slow["exit_porosity"] - fast["exit_porosity"]) < 2e-3
    assert slow["dwell_time_s"] == pytest.approx(5 * fast["dwell_time_s"], rel=0.05)


def test_relaxation_time_leaves_faster_lines_more_porous():
    slow = _run(RELAXATION + [f"calender.line_speed={SLOW}"])
    fast = _run(RELAXATION + [f"calender.line_speed={FAST}"])
    assert fast["exit_porosity"] > slow["exit_porosity"] + 5e-3
    # the viscous overstress also raises the load the same gap takes
    assert fast["line_load_N_per_mm"] > slow["line_load_N_per_mm"]
    for run in (slow, fast):
        assert abs(run["exit_mass_balance_error"]) < 1e-3


def test_mesh_refinement(rate_independent):
    gold = json.loads((ROOT / "tests" / "regression" / "calender_nmc.json").read_text())
    assert abs(rate_independent[FAST]["exit_porosity"] - gold["exit_porosity"]) < 5e-3


def test_friction_has_a_neutral_point(rate_independent):
    summary = rate_independent[FAST]
    assert summary["contact_entry_x_mm"] < summary["neutral_point_x_mm"] \
        < summary["contact_exit_x_mm"]
    assert summary["friction_mobilised_max"] <= 1.0 + 1e-9
    mu_w = summary["friction"] * summary["line_load_N_per_mm"]
    net = (summary["roll_torque_Nmm_per_mm"] + summary["roll_torque_bottom_Nmm_per_mm"]) \
        / summary["roll_radius_mm"]
    assert abs(net) < 0.05 * mu_w


def test_roll_friction_barely_shears_a_foil_backed_coating(rate_independent):
    """Why the model leaves no roll-side gradient where seed 001 measured +3.2 pp (issue 3).
    The only route from roll friction to a denser surface is shear-enhanced compaction on the
    cap, which grows as (t/p)^2: 0.71 pp at t/p = 0.2 on the NMC card
    (test_materials.test_shear_on_the_cap_compacts_more_...). The foil holds the web's length
    (elongation ~1e-4), so the coating sticks to the roll: on the coarse copy t/p is -0.015 at
    the pressure peak, where the cap pressure is set, and at most 0.057 on the loading arc
    (0.114 at the exit edge, where the coating unloads). Bounds: 0.03 at the peak, 0.15 on the
    arc, and a gradient within +-0.05 pp (0.71 pp x (0.057 / 0.2)^2 = 0.06 pp is the most any
    point of the entry could add; measured -0.013 pp)."""
    summary = rate_independent[FAST]
    assert abs(summary["peak_nip_pressure_x_mm"]) < summary["contact_exit_x_mm"]
    assert abs(summary["shear_to_pressure_at_peak"]) < 0.03
    assert summary["shear_to_pressure_max"] < 0.15
    assert abs(summary["roll_side_densification_pp"]) < 0.05
    assert abs(summary["machine_direction_elongation"] - 1.0) < 1e-3


def test_frictionless_nip_matches_flat_press():
    summary = _run(["calender.friction=0", 'calender.web_drive="winder"'])
    assert summary["roll_torque_Nmm_per_mm"] == 0.0
    assert summary["neutral_point_x_mm"] is None
    press_case = load_case(ROOT / "cases" / "flat_press_nmc.toml",
                           [f"loading.target={summary['thickness_under_roll_mm']!r}"])
    press = FlatPress(press_case, MPI.COMM_WORLD, log=lambda *a: None)
    press.run()
    flat = press.summary()
    assert summary["exit_porosity"] == pytest.approx(flat["final_porosity"], rel=0.05)
    assert abs(summary["exit_mass_balance_error"]) < 1e-3


@pytest.mark.mpi
def test_line_load_sweep_fits_compaction_resistance(tmp_path):
    """`nipstack sweep` over the line load (line-load control, COARSE mesh, 2 ranks each
    running every other point): exit porosity falls monotonically with the line load and
    Meyer et al.'s exponential fits it with R^2 >= 0.98 (issue 3)."""
    out = tmp_path / "sweep"
    sets = [item for override in COARSE + ['calender.control="line_load"']
            for item in ("--set", override)]
    result = run_cli(["sweep", str(CASE), "--param", "calender.line_load=15,25,40,60,90",
                      *sets, "--fit", "line_load_N_per_mm,exit_porosity",
                      "--ranks-per-run", "1", "--out", str(out)], cwd=tmp_path, ranks=2)
    assert result.returncode == 0, result.stderr + result.stdout
    fit = json.loads((out / "compaction_fit.json").read_text())
    assert fit["points"] == 5
    assert fit["r_squared"] >= 0.98
    rows = json.loads((out / "sweep.json").read_text())["points"]
    porosity = [row["exit_porosity"] for row in rows]
    assert all(b < a for a, b in zip(porosity, porosity[1:])), porosity
    for row in rows:
        assert row["line_load_N_per_mm"] == pytest.approx(row["calender.line_load"], rel=0.02)
