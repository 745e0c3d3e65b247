"""Lithium-foil lamination onto rough copper in the roll nip (issue 5, seed 004): a calender web
with a band interface ([[interfaces]] in a kind = "calender" case).

The line-load sweep runs through the CLI (`nipstack sweep ... --threshold`) on a coarse copy of
cases/lamination_li_on_cu.toml (COARSE: the roughness wavelength doubled with its amplitude, so
the slope and the elements per wavelength stay, 4 elements through the lithium). What it
checks, with the tolerances:

- void closure: the share of the initial void volume (the valleys, g0) that closed in the nip,
  1 - sum(a min_t max(g, 0)) / sum(a g0) over the exit zone (`void_closure_in_nip`), rises
  with the line load and passes 99 % between 1 and 4 N/mm (measured 0.972 rolled under
  0.98 N/mm, 0.998 under 4.02 N/mm: `line_load_exit_zone_N_per_mm`, the mean line load of
  the steps the exit zone was in the nip, within 5 % of the target, its step-to-step ripple
  within 15 %); the `--threshold` entry of sweep.json brackets the 99 % level between those
  two points and interpolates the exit-zone line load there. The point-count measure
  (`contact_fraction_reached_in_nip`: points whose gap fell below 1 % of the amplitude) also
  rises (0.62 -> 0.93) but is held down by the Gauss-point oscillation of the stiff
  penalty band (under the roll every other point is open by ~10 nm of a 1 um valley);
- the nip still balances with an interface in the web: line load = int p ds over the arc to
  1 % (they differ by the tilt of the roll normal and the friction), the two rolls carry the
  same load to 2 % (the guides and the foundation take the rest), and the lithium's volume is
  conserved over the exit zone, h0 = h x elongation to 1 %;
- the contact constraints: the Li | Cu penetration at most 1 % of the roughness amplitude (the
  augmented-Lagrangian tolerance), the roll penetration below 1 % of the lithium's thinning,
  and the faces slide along each other by less than half an element (small sliding);
- the outputs: the interface profile CSV, the interface fields in the ParaView files;
- 1 and 2 MPI ranks: the exit-zone line load, void closures, point counts, gap, exit
  thickness and elongation agree to 1 % (measured <= 0.4 %). Not to round-off: a 2-rank
  run is not even reproducible run to run (three identical runs: 37, 38, 39 steps). Its
  round-off (MUMPS on 2 processes) is amplified by the active-set search of the rolling
  steps (contact, stick/slip, yield: 5-45 iterations before the quadratic tail), so a step
  near the 60-iteration limit is cut back in one run and not in another. When the step
  sequences match, every summary entry agrees to 1e-7;
- the assembled tangent of the web is the derivative of the residual (finite differences,
  1e-5; measured 2e-7), so the long active-set search is not an inconsistent tangent;
- a calender case without interfaces takes the old path: a coarse NMC run reproduces the
  numbers recorded before the interface code existed (1e-10).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from mpi4py import MPI

from conftest import ROOT, run_cli
from nipstack.calender import Calender
from nipstack.case import CaseError, load_case
from nipstack.sweep import threshold_crossing

pytestmark = pytest.mark.slow     # whole-case runs: `make test`, not `make test-fast`

CASE = ROOT / "cases" / "lamination_li_on_cu.toml"
NAME = "interface_copper_lithium"
COARSE = ["interfaces.0.roughness.wavelength=0.08", "interfaces.0.roughness.amplitude=0.0005",
          "layers.1.elements=4", "output.plots=false"]
LOADS = (1.0, 4.0)       # N/mm
REACHED = f"{NAME}_contact_fraction_reached_in_nip"
CLOSURE = f"{NAME}_void_closure_in_nip"
ROLLED = "line_load_exit_zone_N_per_mm"      # the load the exit zone was rolled under


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("lamination") / "sweep"
    args = ["sweep", str(CASE), "--param",
            "calender.line_load=" + ",".join(f"{w:g}" for w in LOADS), "--out", str(out),
            "--threshold", f"{CLOSURE}=0.99@{ROLLED}",
            "--set", "output.fields=true"]
    for assignment in COARSE:
        args += ["--set", assignment]
    result = run_cli(args, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = json.loads((out / "sweep.json").read_text())
    summaries = [json.loads((out / row["folder"] / "summary.json").read_text())
                 for row in record["points"]]
    return out, record, summaries


def test_void_closure_rises_with_line_load(sweep):
    _, _, summaries = sweep
    closure = [s["interfaces"][NAME]["void_closure_in_nip"] for s in summaries]
    assert all(b > a for a, b in zip(closure, closure[1:])), closure
    assert closure[0] < 0.99 <= closure[-1], closure
    reached = [s["interfaces"][NAME]["contact_fraction_reached_in_nip"] for s in summaries]
    assert all(b > a for a, b in zip(reached, reached[1:])), reached
    measured = [s[ROLLED] for s in summaries]
    assert all(b > a for a, b in zip(measured, measured[1:])), measured
    for load, s in zip(LOADS, summaries):     # the controller holds the target (ripple of
        # the roughness passing through the nip: min / max within 15 %)
        assert s[ROLLED] == pytest.approx(load, rel=0.05)
        assert load * 0.85 <= s["line_load_exit_zone_min_N_per_mm"] <= s[ROLLED] \
            <= s["line_load_exit_zone_max_N_per_mm"] <= load * 1.15
    for s in summaries:       # two roughness windows in the exit zone at every load
        entry = s["interfaces"][NAME]
        assert entry["exit_windows"] >= 2
        # the initial voids the closure is measured against: a sinusoid of amplitude A on
        # the copper, valleys 0..2A deep, mean A over whole wavelengths (the exit zone holds
        # 2-4 wavelengths and a part of one: 2 %; measured 0.16 % at 1 N/mm)
        assert entry["initial_mean_void_height_exit_mm"] == pytest.approx(0.0005, rel=0.02)
        # springback reopens part of the voids (no adhesion), never more than was there
        assert 0.0 <= entry["void_closure_exit"] <= entry["void_closure_in_nip"]


def test_threshold_entry_brackets_99_percent(sweep):
    _, record, summaries = sweep
    crossing = next(c for c in record["thresholds"] if c["y"] == CLOSURE)
    assert crossing["x"] == ROLLED
    points = sorted((s[ROLLED], s[CLOSURE]) for s in summaries)
    flat = [value for point in points for value in point]
    assert [value for point in crossing["points"] for value in point] == \
        pytest.approx(flat, rel=1e-12)
    assert crossing["monotonic"] is True
    (x0, y0), (x1, y1) = points
    assert crossing["bracket"] == pytest.approx([x0, x1], rel=1e-12)
    assert crossing["value"] == pytest.approx(x0 + (x1 - x0) * (0.99 - y0) / (y1 - y0),
                                              rel=1e-12)


def test_threshold_crossing_interpolates():
    """The crossing on made-up rows: linear interpolation between the bracketing points, by
    the x it is asked for, and None with a reason when the level is not reached."""
    rows = [{"status": "complete", "p": p, "w": w, "f": f}
            for p, w, f in ((1, 0.9, 0.5), (4, 3.8, 0.98), (2, 2.1, 0.8), (8, 7.5, 1.0))]
    rows.append({"status": "incomplete", "p": 16})
    by_parameter = threshold_crossing(rows, "p", "f", 0.99)
    assert by_parameter["value"] == pytest.approx(4 + 4 * 0.01 / 0.02, rel=1e-12)
    assert by_parameter["bracket"] == [4.0, 8.0] and by_parameter["monotonic"] is True
    by_measured = threshold_crossing(rows, "w", "f", 0.99)
    assert by_measured["value"] == pytest.approx(3.8 + 3.7 * 0.5, rel=1e-12)
    missing = threshold_crossing(rows, "p", "f", 1.5)
    assert missing["value"] is None and "stays below" in missing["reason"]


def test_nip_balances_with_an_interface(sweep):
    _, _, summaries = sweep
    for s in summaries:
        assert s["line_load_N_per_mm"] == pytest.approx(s["nip_pressure_integral_N_per_mm"],
                                                        rel=0.01)
        assert s["line_load_bottom_N_per_mm"] == pytest.approx(s["line_load_N_per_mm"],
                                                               rel=0.02)
        assert abs(s["exit_mass_balance_error"]) < 0.01
        assert abs(s["foundation_force_N_per_mm"]) < 1e-3 * s["line_load_N_per_mm"]


def test_contact_constraints(sweep):
    _, _, summaries = sweep
    for s in summaries:
        entry = s["interfaces"][NAME]
        assert entry["max_penetration_over_amplitude"] <= 0.01 * (1 + 1e-9)
        assert entry["max_tangential_jump_over_element"] < 0.5
        thinning = s["initial_thickness_mm"] - s["gap_mm"]
        assert s["max_penetration_mm"] <= 0.01 * thinning


def test_interface_outputs(sweep):
    out, record, _ = sweep
    folder = out / record["points"][-1]["folder"]
    rows = np.genfromtxt(folder / f"{NAME}_profile.csv", delimiter=",", names=True)
    assert {"reference_x_mm", "gap_normal_mm", "pressure_MPa", "closed",
            "closed_during_pass", "exit_zone"} <= set(rows.dtype.names)
    assert (rows["exit_zone"] > 0.5).any()
    vtu = sorted((folder / "fields").glob("*.pvtu"))
    assert vtu, "no ParaView fields"
    text = vtu[-1].read_text()
    for field in ("interface_gap_normal_mm", "interface_pressure_MPa", "interface_contact"):
        assert field in text


@pytest.mark.mpi
def test_two_ranks_agree(sweep, tmp_path):
    out, record, summaries = sweep
    one = summaries[LOADS.index(1.0)]
    args = ["run", str(CASE), "--out", str(tmp_path / "two"), "--set", "calender.line_load=1",
            "--set", "output.fields=false"]
    for assignment in COARSE:
        args += ["--set", assignment]
    result = run_cli(args, cwd=ROOT, ranks=2)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    two = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert two["mpi_ranks"] == 2
    # the step sequence itself is not reproducible on 2 ranks (see the module docstring):
    # the engineering outputs are compared, 1 % (measured <= 0.4 % across 37-39 steps)
    for key in (ROLLED, "line_load_N_per_mm", "gap_mm", "exit_thickness_mm",
                "machine_direction_elongation", REACHED, CLOSURE,
                f"{NAME}_void_closure_exit"):
        assert two[key] == pytest.approx(one[key], rel=0.01), key
    # the exit contact fraction averages a few tens of interface-point columns in this coarse
    # exit zone, each in or out of contact, so it jumps when the step sequence moves: one rank
    # took 37 steps, two ranks 38 (measured 0.0930 vs 0.0853); 1/64 absolute is allowed
    assert two[f"{NAME}_contact_fraction_exit"] == pytest.approx(
        one[f"{NAME}_contact_fraction_exit"], abs=1.0 / 64.0)
    # extremes over single points (largest void, peak pressure) move with the step sequence:
    # the largest void by 1.4 % in one CI run
    assert two[f"{NAME}_max_void_height_exit_mm"] == pytest.approx(
        one[f"{NAME}_max_void_height_exit_mm"], rel=0.05)


def test_case_rules_for_a_web_with_interfaces():
    case = load_case(CASE)
    assert case.solver.element_degree == 1
    with pytest.raises(CaseError, match="element_degree"):
        load_case(CASE, ["solver.element_degree=2"])
    with pytest.raises(CaseError, match="constriction"):
        load_case(CASE, ['interfaces.0.constriction={electrolyte="lithium", conductivity=1.0}'])


# recorded with solver/calender.py before the interface code (commit db2c939), same machine
# class: cases/calender_nmc.toml with the overrides below, 1 rank. Exit thickness and
# elongation re-recorded when the exit zone's end nodes stopped being a round-off coin flip
# (profile.exit_geometry; before: 0.07114867513543036 and 1.0001667970854426: this exit zone
# is short, and one node pair more at its ends moves the elongation by 3.5e-4)
NMC_COARSE = ["calender.elements_per_contact_length=3", "calender.travel_contact_lengths=2.5",
              "layers.1.elements=2", "output.fields=false", "output.plots=false",
              'calender.rolling_predictor="kinematic"']
NMC_RECORDED = {"exit_porosity": 0.41418692333832596, "line_load_N_per_mm": 40.21039791956769,
                "exit_thickness_mm": 0.07097537836937892,
                "peak_nip_pressure_MPa": 35.89727647998321,
                "roll_torque_Nmm_per_mm": 15.354850560405673,
                "machine_direction_elongation": 0.9999357919251075,
                "contact_length_mm": 1.5451592625928254, "steps": 23}


def test_calender_without_interfaces_takes_the_old_path():
    case = load_case(ROOT / "cases" / "calender_nmc.toml", NMC_COARSE)
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    assert calender.interfaces is None
    calender.run()
    summary = calender.summary()
    assert "interfaces" not in summary
    # 1e-8: the recorded values are converged to the Newton tolerance (1e-9 of the force
    # scale); a library update that moves round-off (measured: numpy 2.5.5, this session)
    # shifts the roll torque by 2.4e-10. Another code path would change them by far more.
    # (The kinematic predictor, as when they were recorded: another start converges to
    # another point within the Newton tolerance, the torque by 2.5e-8 with the steady one.)
    for key, value in NMC_RECORDED.items():
        assert summary[key] == pytest.approx(value, rel=1e-8, abs=0), key


def test_web_tangent_matches_finite_differences():
    """The assembled Jacobian of the laminated web (finite-strain Q1 lithium and copper, the
    Li | Cu contact band with Coulomb friction, the rolls with friction) is the derivative of
    the assembled residual: J v against central differences (R(u + e v) - R(u - e v)) / 2e,
    1e-5 relative, for the Newton direction and a random direction, at a state off
    equilibrium (0.7 of a Newton step into the second closing step: the lithium yields under
    the roll, the crests are in contact, some slip; at half a step none slipped once the web
    was laid out in whole elements). Measured 2e-7 / 1e-9; a wrong term in the
    tangent gives O(1). (The many iterations of a rolling step are the active-set search, not
    an inconsistent tangent.)"""
    import dolfinx_solver  # noqa: F401
    from dolfinx.fem import petsc as fem_petsc

    case = load_case(CASE, COARSE + ["calender.line_load=1"])
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    newton, problem = calender.newton, calender.problem
    step = 0.25 * calender.estimated_reduction / 2.0       # the run's first closing step
    calender.problem.dt = 0.0
    for closure in (step, 2 * step):
        calender.nip.position.value = closure
        calender._fit_columns_into_gap()
        if closure == step:
            calender._solve()
            problem.commit()
            calender.nip.commit()
            calender._commit_regularisation()
    newton._evaluate()                                      # 0.7 of a Newton step from the
    newton.assemble_jacobian()                              # predictor of the second step
    newton._linear_solve(newton.b, newton.du)
    problem.u.x.petsc_vec.axpy(-0.7, newton.du)
    problem.u.x.scatter_forward()
    newton._evaluate()
    slipping = sum(int(np.sum(band.trial["slipping"] > 0))
                   for band in calender.interfaces.bands.values())
    in_contact = sum(int(np.sum(band.traction[:, 0] < 0))
                     for band in calender.interfaces.bands.values())
    lithium = next(region for region in problem.regions if region.name == "lithium")
    yielding = int(np.sum(lithium.trial_history["equivalent_plastic_strain"] > 0.0))
    assert slipping > 0 and in_contact > 0 and yielding > 0, (slipping, in_contact, yielding)
    newton.assemble_jacobian()
    newton._linear_solve(newton.b, newton.du)
    u0 = problem.u.x.array.copy()
    random = newton.du.duplicate()
    random.setArray(np.random.default_rng(1).standard_normal(random.getLocalSize()))
    for direction in (newton.du, random):
        v = direction.copy()
        fem_petsc.set_bc(v, problem.bcs, alpha=0.0)         # prescribed dofs stay
        Jv = v.duplicate()
        newton.A.mult(v, Jv)
        e = 1e-9 / v.norm(3)                                # largest nodal move 1e-9 mm
        residuals = []
        for sign in (1.0, -1.0):
            problem.u.x.array[:] = u0
            problem.u.x.petsc_vec.axpy(sign * e, v)
            problem.u.x.scatter_forward()
            newton._evaluate()
            residuals.append(newton.b.copy())
        difference = (residuals[0] - residuals[1]) * (0.5 / e)
        assert (difference - Jv).norm() <= 1e-5 * Jv.norm()
    problem.u.x.array[:] = u0
