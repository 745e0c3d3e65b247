"""The flat press on a mesh: Newton convergence, mass conservation, springback, seed 001 J -> K,
2D = 3D for a homogeneous compaction, and the results folder.

The shipped cases run in-process (2D meshes of 24 cells, 3D of 16 hexahedra: seconds each).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from mpi4py import MPI

from conftest import MINIMAL_CASE, ROOT
from nipstack.case import load_case
from nipstack.cli import main
from nipstack.flat_press import FlatPress


def _run(path, *overrides):
    case = load_case(path, list(overrides))
    press = FlatPress(case, MPI.COMM_WORLD, log=lambda *a: None)
    press.run()
    return press, press.summary()


@pytest.fixture(scope="module")
def nmc():
    return _run(ROOT / "cases" / "flat_press_nmc.toml")


def test_newton_converges_quadratically(nmc):
    """Every Newton solve takes <= 8 iterations, and in the plastic loading steps the relative
    residual obeys the quadratic bound r_k+1 <= 100 r_k^2 once r_k < 1e-3 (a linear or
    superlinear rate would violate it within two iterations); round-off (< 1e-14) excluded."""
    press, _ = nmc
    for record in press.records:
        assert record.newton_iterations <= 8, record
    checked = 0
    for record in press.records:
        if record.phase != "load":
            continue
        r = record.residuals
        for k in range(len(r) - 1):
            if r[k] < 1e-3 and r[k + 1] > 1e-14:
                assert r[k + 1] <= 100 * r[k] ** 2, (record.step, r)
                checked += 1
    assert checked >= len([x for x in press.records if x.phase == "load"])


def test_mass_conservation(nmc):
    """h0 (1 - eps0) = h (1 - eps) for the final state and under load, to 0.1 % (seed 000)."""
    press, summary = nmc
    h0, eps0 = summary["initial_thickness_mm"], summary["initial_porosity"]
    for h, eps in [(summary["final_thickness_mm"], summary["final_porosity"]),
                   (summary["thickness_under_load_mm"], summary["porosity_under_load"])]:
        assert h * (1 - eps) == pytest.approx(h0 * (1 - eps0), rel=1e-3)
    assert abs(summary["mass_balance_error"]) < 1e-3


def test_platen_penetration_is_negligible(nmc):
    """Penalty contact: penetration <= 1 % of the thickness reduction."""
    _, summary = nmc
    reduction = summary["initial_thickness_mm"] - summary["thickness_under_load_mm"]
    assert summary["max_penetration_mm"] <= 0.01 * reduction


def test_springback_equals_peak_pressure_over_modulus(nmc):
    """Seed 000: eps_sb = p_max / E_eff. The press is laterally confined, so the unloading
    modulus is the constrained (oedometric) one, M = E (1-nu) / ((1+nu)(1-2nu)), with E the
    Gibson-Ashby modulus at the final porosity. Tolerance 5 % (the elastic strain is a few %,
    and E varies slightly as the elastic porosity changes)."""
    press, summary = nmc
    law = press.laws["coating"]
    E = law.solid_youngs_modulus * (1 - summary["final_porosity"]) ** law.gibson_ashby_exponent
    nu = law.poisson_ratio
    M = E * (1 - nu) / ((1 + nu) * (1 - 2 * nu))
    expected = summary["peak_pressure_MPa"] / M
    assert summary["springback_strain"] == pytest.approx(expected, rel=0.05)


def _mumps_ordering(press) -> int:
    """The fill-reducing ordering MUMPS used in the run's last factorisation (INFOG(7))."""
    return press.newton._ksp.getPC().getFactorMatrix().getMumpsInfog(7)


def test_three_dimensional_case_matches_plane_strain(nmc):
    """Homogeneous uniaxial strain: the 3D slab and the 2D section give the same numbers.
    MUMPS ordered the 2D matrix by approximate minimum fill (2) and the 3D one by METIS (5),
    the measured faster choices (linear_solver.MUMPS_ORDERING)."""
    press2, summary2 = nmc
    press3, summary3 = _run(ROOT / "cases" / "flat_press_nmc_3d.toml")
    for key in ["final_thickness_mm", "final_porosity", "peak_pressure_MPa",
                "springback_strain", "porosity_under_load"]:
        assert summary3[key] == pytest.approx(summary2[key], rel=1e-6), key
    if MPI.COMM_WORLD.size == 1:      # (several ranks factor in PETSc's redundant PC)
        assert (_mumps_ordering(press2), _mumps_ordering(press3)) == (2, 5)


def test_etiemble_lfp_supercalendering_lands_on_mass_conservation():
    """Seed 001, J (88 um, 37 %) -> K (78 um after release): porosity 1 - 0.63*88/78 = 28.92 %
    (Table 1: 30 %, within its thickness scatter). Final thickness to 1e-5 relative (the search
    tolerance), porosity to 1e-4 absolute."""
    _, summary = _run(ROOT / "cases" / "supercalender_lfp_etiemble.toml")
    assert summary["final_thickness_mm"] == pytest.approx(0.078, rel=1e-5)
    assert summary["final_porosity"] == pytest.approx(1 - 0.63 * 88 / 78, abs=1e-4)
    assert summary["final_porosity"] == pytest.approx(0.30, abs=0.015)


def test_results_folder(tmp_path):
    """`nipstack run` writes the complete folder, and only then publishes it."""
    case = tmp_path / "case.toml"
    case.write_text(MINIMAL_CASE)
    out = tmp_path / "results"
    assert main(["run", str(case), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert (out / "fields" / "fields.pvd").exists()
    assert len(list((out / "fields").glob("*.pvtu"))) == json.loads(
        (out / "summary.json").read_text())["steps"]
    assert {"fields", "summary.json", "history.csv", "porosity_final.png",
            "porosity_under_load.png", "pressure_thickness.png"} <= names
    assert "INCOMPLETE" not in names
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete"
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == summary["steps"] + 1
    assert not (tmp_path / ".results.partial").exists()


def test_failed_run_is_marked_incomplete(tmp_path, capsys):
    """Newton that cannot converge (1 iteration allowed, 1 cut-back): exit 3, INCOMPLETE."""
    case = tmp_path / "case.toml"
    case.write_text(MINIMAL_CASE + "\n[solver]\nmax_iterations = 1\nmax_cutbacks = 1\n")
    out = tmp_path / "results"
    assert main(["run", str(case), "--out", str(out)]) == 3
    assert "run stopped" in capsys.readouterr().err
    assert (out / "INCOMPLETE").exists()
    summary = json.loads((out / "summary.json").read_text()) \
        if (out / "summary.json").exists() else {"status": "incomplete"}
    assert summary["status"] == "incomplete"


GOLD_TOLERANCE = 1e-6   # relative; Newton stops at 1e-9 of the force scale, so the summary
                        # numbers of a rerun (any machine, any rank count) agree to ~1e-8


@pytest.mark.parametrize("case_file", sorted(p for p in (ROOT / "cases").glob("*.toml")
                                              if 'kind = "flat_press"' in p.read_text()),
                         ids=lambda p: p.stem)
def test_shipped_case_regression(case_file):
    """Every shipped flat-press case reproduces its gold summary (tests/regression/<case>.json;
    the calender, stack and delamination cases have their own tests: test_calender_cases,
    test_stack_cases, test_contact_loss, test_delamination)."""
    gold = json.loads((ROOT / "tests" / "regression" / f"{case_file.stem}.json").read_text())
    _, summary = _run(case_file)
    for key, value in gold.items():
        assert summary[key] == pytest.approx(value, rel=GOLD_TOLERANCE), key


def test_pressure_control_reproduces_thickness_control(nmc):
    """Force control (bordered Newton on the platen position) driven to the peak pressure of the
    thickness-controlled run lands on the same state: thickness and porosity under load and
    after release agree to 1e-4 relative (the two controls take different load increments, and
    backward-Euler plasticity is step-size dependent at first order: measured 5e-6); the peak
    pressure is met to 1e-8."""
    _, thickness_run = nmc
    peak = thickness_run["peak_pressure_MPa"]
    _, pressure_run = _run(ROOT / "cases" / "flat_press_nmc.toml", 'loading.control="pressure"',
                           f"loading.target={peak!r}")
    assert pressure_run["peak_pressure_MPa"] == pytest.approx(peak, rel=1e-8)
    for key in ["thickness_under_load_mm", "porosity_under_load", "final_thickness_mm",
                "final_porosity"]:
        assert pressure_run[key] == pytest.approx(thickness_run[key], rel=1e-4), key


def test_iterative_solver_with_rigid_body_modes_gives_the_lu_answer():
    """GMRES + GAMG (the 3D default from 300 000 dofs) on the shipped 3D flat press: the rigid-body
    modes handed to GAMG span the null space of the unconstrained stiffness (|K m| <= 1e-9
    |K| |m|, 3 translations and 3 rotations, orthonormal to 1e-12), and the run reproduces the
    LU gold summary to the gold tolerance (its Krylov tolerance 1e-10 is far below Newton's)."""
    from petsc4py import PETSc

    from nipstack.newton import rigid_body_modes

    case_file = ROOT / "cases" / "flat_press_nmc_3d.toml"
    press, summary = _run(case_file, 'solver.petsc_options={pc_type="gamg"}')
    assert press.problem.petsc_options["ksp_type"] == "gmres"
    gold = json.loads((ROOT / "tests" / "regression" / f"{case_file.stem}.json").read_text())
    for key, value in gold.items():
        assert summary[key] == pytest.approx(value, rel=GOLD_TOLERANCE), key
    # the modes against a stiffness without boundary conditions (the virgin elastic tangent)
    import ufl
    from dolfinx import fem
    from dolfinx.fem import petsc as fem_petsc

    V = press.problem.V
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    strain = ufl.sym(ufl.grad(u))
    stiffness = fem_petsc.assemble_matrix(fem.form(
        ufl.inner(2.0 * strain + ufl.tr(strain) * ufl.Identity(3), ufl.sym(ufl.grad(v)))
        * ufl.dx))
    stiffness.assemble()
    modes = rigid_body_modes(V, stiffness).getVecs()
    assert len(modes) == 6
    image = stiffness.createVecLeft()
    for i, mode in enumerate(modes):
        stiffness.mult(mode, image)
        assert image.norm() <= 1e-9 * stiffness.norm(PETSc.NormType.FROBENIUS) * mode.norm()
        for j, other in enumerate(modes):
            assert abs(mode.dot(other) - (i == j)) <= 1e-12


FINAL_KEYS = ("final_thickness_mm", "final_porosity", "springback_strain", "final_platen_force")


def test_a_run_stopped_under_load_reports_no_final_numbers(tmp_path, capsys):
    """Driven to 1500 MPa the press stops at the porosity limit (exit 3) while the platen still
    presses: summary.json keeps what was reached under load, but the sample was never
    released, so its final thickness, porosity, springback and platen force are null (not the
    under-load state, a springback of 0 and the load on the platen)."""
    case = tmp_path / "case.toml"
    case.write_text(MINIMAL_CASE)
    out = tmp_path / "results"
    assert main(["run", str(case), "--out", str(out), "--set", 'loading.control="pressure"',
                 "--set", "loading.target=1500", "--set", "output.plots=false"]) == 3
    assert "porosity limit" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "incomplete" and summary["steps"] >= 1
    assert summary["peak_pressure_MPa"] > 0 and 0 < summary["porosity_under_load"] < 1
    for key in FINAL_KEYS:
        assert summary[key] is None, key


def test_an_interrupted_press_reports_no_final_numbers(tmp_path, monkeypatch):
    """A stop after the third loading step (INTERRUPTED, as SIGINT would): no final numbers;
    the complete run of the same case has them all, the sample free of the platen."""
    from nipstack import interrupt
    from nipstack.case_run import CaseRun, run_case

    case = load_case(ROOT / "cases" / "flat_press_nmc.toml", ["output.plots=false",
                                                              "output.fields=false"])
    on_step = CaseRun.on_step

    def stop_after_three(self, record, model):
        on_step(self, record, model)
        if record.step == 3:
            raise interrupt.RunInterrupted(2)

    monkeypatch.setattr(CaseRun, "on_step", stop_after_three)
    code, _ = run_case(case, MPI.COMM_WORLD, tmp_path / "stopped", log=lambda *a: None)
    assert code == 130
    summary = json.loads((tmp_path / "stopped" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] == 3
    for key in FINAL_KEYS:
        assert summary[key] is None, key
    monkeypatch.setattr(CaseRun, "on_step", on_step)
    code, complete = run_case(case, MPI.COMM_WORLD, tmp_path / "complete", log=lambda *a: None)
    assert code == 0 and all(isinstance(complete[key], float) for key in FINAL_KEYS)
    assert complete["springback_strain"] > 0 and complete["final_platen_force"] == 0.0


def test_set_up_loads_the_kernels_without_touching_the_state(monkeypatch):
    """Building the problem runs one point of every region through its law's update and
    tangent (so that numba's first-call loading is set-up, not the first Newton iteration),
    and leaves the history, the trial state and the stress and tangent fields as they were."""
    import nipstack.mechanics as mechanics

    calls = []
    update = mechanics.stress_update

    def recording_update(law, F, metric, history, dt, **kwargs):
        result = update(law, F, metric, history, dt, **kwargs)
        calls.append((type(law).__name__, F.shape[0]))
        return result

    monkeypatch.setattr(mechanics, "stress_update", recording_update)
    case = load_case(ROOT / "cases" / "flat_press_nmc.toml")
    problem = FlatPress(case, MPI.COMM_WORLD, log=lambda *a: None).problem
    assert sorted(calls) == sorted((type(region.law).__name__, 1) for region in problem.regions
                                   if len(region.cells))
    for region in problem.regions:
        virgin = region.law.initial_state(len(region.cells) * problem.points.shape[0])
        for key, value in virgin.items():
            assert np.array_equal(region.history[key], value), (region.name, key)
            assert np.array_equal(region.trial_history[key], value), (region.name, key)
        assert np.all(region.metric_inverse == np.eye(3))
    assert not problem.P_q.x.array.any() and not problem.A_q.x.array.any()
