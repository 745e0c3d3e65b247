"""Cell-stack compaction with zero-thickness (band) interfaces: mesh, tangent, patch test,
rough contact under pressure, the plastic contact limit of seed 003, and 1 vs 2 MPI ranks.

Tolerances (measured values in the comments, commands in the docstrings):
  * patch test: uniform interface traction and the exact 1D finite-strain compliance of the
    confined layers to 1e-8 (measured 2e-11 .. 3e-11: round-off of the 1e-8 mm thin band);
  * consistent tangent: the central finite-difference error falls as eps^2 (measured 1.5e-7,
    1.5e-9 at eps = 1e-6, 1e-7);
  * plastic limit: contact fraction = P/H within 10 % (measured 0.91 .. 1.04 on this mesh,
    0.96 .. 1.04 on a mesh twice as fine in x and y);
  * 2 ranks reproduce 1 rank to 1e-8 on the loaded steps (measured <= 4e-10).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import dolfinx_solver  # noqa: F401
import numpy as np
import pytest

from conftest import MPIRUN
from nipstack.meshes.stack import (RandomRoughness, Sinusoid, StackInterface, StackLayer,
                                   build_stack)
from nipstack.mechanics import constrained_modulus
from nipstack.stack import (InterfaceSpec, LayerSpec, StackCompaction,
                            plastic_hardness)

QUIET = dict(log=lambda *args, **kwargs: None)


def test_stack_mesh_groups_bands_and_profiles():
    """Named groups, band thickness, conforming/rough/wavy faces, deterministic roughness."""
    layers = [StackLayer("foil", 0.01, 2), StackLayer("coat", 0.04, 3, Sinusoid(0.002, 0.05)),
              StackLayer("sep", 0.02, 2)]
    rough = RandomRoughness(rms=5e-4, correlation_length=0.01, seed=3)
    interfaces = [StackInterface("foil", "coat"),
                  StackInterface("coat", "sep", roughness=rough, rough_face="upper")]
    mesh = build_stack(layers, 0.1, 20, interfaces)
    groups = mesh.physical_groups
    for name in ("foil", "coat", "sep", "interface_foil_coat", "interface_coat_sep"):
        assert groups[name].dim == 2
    for name in ("bottom", "top", "left", "right", "interface_foil_coat_bottom",
                 "interface_foil_coat_top", "interface_coat_sep_bottom",
                 "interface_coat_sep_top"):
        assert groups[name].dim == 1
    band = mesh.bands["interface_foil_coat"]
    assert band.thickness == pytest.approx(1e-6 * 0.01, rel=1e-12)
    assert band.max_initial_gap == 0.0
    # the random surface: zero mean and exactly the RMS on its grid, the same for the same seed
    xs, _, values = rough.grid(0.1)
    inside = (xs >= 0) & (xs <= 0.1)
    assert np.sqrt(np.mean(values[inside] ** 2)) == pytest.approx(5e-4, rel=1e-12)
    again = build_stack(layers, 0.1, 20, interfaces)
    assert np.array_equal(again.mesh.geometry.x, mesh.mesh.geometry.x)
    rough_band = mesh.bands["interface_coat_sep"]
    assert rough_band.max_initial_gap > 0.0
    # 3D: hexahedra with front and back faces
    mesh3 = build_stack(layers[:2], 0.05, 4, interfaces[:1], dim=3, depth=0.02,
                        elements_depth=2)
    assert mesh3.mesh.topology.index_map(3).size_global == 4 * 2 * (2 + 1 + 3)
    assert {"front", "back"} <= set(mesh3.physical_groups)


def test_interface_jacobian_matches_finite_differences():
    """Band interface Jacobian (law tangent through the gap expressions + frame rotation) vs
    central differences of the assembled residual, at a state with friction slipping, a
    damaged exponential cohesive interface on a wavy profile and a rough initial gap."""
    from dolfinx.fem import petsc as fem_petsc
    from petsc4py import PETSc

    layers = [LayerSpec("a", "llzo", 0.02, 2), LayerSpec("b", "argyrodite_li6ps5cl", 0.02, 2),
              LayerSpec("c", "llzo", 0.02, 2)]
    interfaces = [
        InterfaceSpec("a", "b", "cohesive_exponential", {"strength": 5.0, "toughness": 0.001},
                      shape=Sinusoid(0.002, 0.05)),
        InterfaceSpec("b", "c", "contact", {"friction_coefficient": 0.3,
                                            "normal_stiffness": 1e6},
                      roughness=Sinusoid(0.001, 0.05))]
    stack = StackCompaction(layers, interfaces, width=0.05, elements_width=5, lateral="free",
                            **QUIET)
    problem = stack.problem
    rng = np.random.default_rng(1)
    X = problem.V.tabulate_dof_coordinates()
    u0 = np.zeros((len(X), 2))
    u0[:, 1] = -0.03 * X[:, 1] + 0.0015 * np.sin(40 * X[:, 0])
    u0[:, 0] = 0.02 * X[:, 1] + 0.001 * rng.standard_normal(len(X))
    u0 += 1e-4 * rng.standard_normal(u0.shape)
    u0[:, 1] -= 0.0018 * (X[:, 1] > 0.04001)           # close the rough contact
    u0[:, 0] += 0.0003 * (X[:, 1] > 0.04001)           # and make it slip
    u0 = u0.ravel()
    contact = stack.interfaces.bands["interface_b_c"]
    contact.history["lambda_n"][:] = -0.5 * rng.random(len(contact.history["lambda_n"]))
    residual_form, jacobian_form = problem.forms()

    def residual(u):
        problem.u.x.array[:] = u
        problem.update_material()
        vector = fem_petsc.assemble_vector(residual_form)
        vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return vector.getArray().copy()

    residual(u0)
    assert contact.trial["slipping"].any()
    assert stack.interfaces.bands["interface_a_b"].trial["damage"].max() > 0.5
    matrix = fem_petsc.assemble_matrix(jacobian_form)
    matrix.assemble()
    du = rng.standard_normal(len(u0))
    x, y = matrix.createVecRight(), matrix.createVecLeft()
    x.setArray(du)
    matrix.mult(x, y)
    errors = []
    for eps in (1e-6, 1e-7):
        fd = (residual(u0 + eps * du) - residual(u0 - eps * du)) / (2 * eps)
        errors.append(np.linalg.norm(fd - y.getArray()) / np.linalg.norm(y.getArray()))
    assert errors[1] < 1e-8                      # measured 1.5e-9
    assert errors[0] / errors[1] > 50.0          # second order in eps: measured 100


def _series_finite_strain(stack, layers, pressure):
    """Plate displacement of confined Hencky layers in series: M ln(lambda)/lambda = -p."""
    total = 0.0
    for layer in layers:
        M = constrained_modulus(stack.laws[layer.name])
        stretch = 1.0
        for _ in range(50):
            f = M * np.log(stretch) / stretch + pressure
            stretch -= f / (M * (1 - np.log(stretch)) / stretch ** 2)
        total += layer.thickness * (1.0 - stretch)
    return total


@pytest.mark.parametrize("cell_type", ["quadrilateral", "crossed_triangle"])
def test_patch_flat_stack_uniform_traction_and_series_compliance(cell_type):
    """copper | LLZO | aluminium, laterally confined (rollers), frictional AL contact between
    copper and LLZO, bonded LLZO/aluminium, 5 MPa by force control: the interface pressure is
    uniform and the plate displacement equals the exact finite-strain 1D solution (confined
    Hencky layers in series) + p / k_n of the bonded interface (the AL contact has no gap)."""
    layers = [LayerSpec("cu", "copper_foil", 0.01, 2), LayerSpec("llzo", "llzo", 0.05, 3),
              LayerSpec("al", "aluminium_foil", 0.02, 2)]
    interfaces = [InterfaceSpec("cu", "llzo", "contact", {"friction_coefficient": 0.3}),
                  InterfaceSpec("llzo", "al", "bonded")]
    stack = StackCompaction(layers, interfaces, width=0.05, elements_width=4,
                            cell_type=cell_type, lateral="confined", al_rtol=1e-12,
                            al_atol=1e-16, newton_rtol=1e-10, platen_penalty_factor=1.0,
                            **QUIET)
    assert stack.pressure_method == "bordered"
    stack.load(5.0, steps=2)
    record = stack.records[-1]
    p = record.pressure
    assert p == pytest.approx(5.0, rel=1e-8)
    bonded = stack.interface_laws["interface_llzo_al"]
    exact = _series_finite_strain(stack, layers, p) + p / bonded.normal_stiffness
    assert record.plate_displacement / exact - 1.0 == pytest.approx(0.0, abs=1e-8)
    for name, stats in record.interfaces.items():
        assert stats["contact_fraction"] == 1.0, name
        assert stats["max_pressure"] / stats["mean_pressure"] - 1.0 < 1e-8, name
        assert 1.0 - stats["min_pressure"] / stats["mean_pressure"] < 1e-8, name
        assert stats["mean_pressure"] == pytest.approx(p, rel=1e-8), name
    assert all(r.al_iterations >= 1 for r in stack.records)   # the multiplier was updated
    assert record.constraint_violation < 1e-16


def _lithium_on_llzo(**kwargs):
    layers = [LayerSpec("llzo", "llzo", 0.002, 1),
              LayerSpec("li", "lithium_metal", 0.005, kwargs.pop("elements", 20),
                        grading=kwargs.pop("grading", 1.1))]
    interfaces = [InterfaceSpec("llzo", "li", "contact",
                                roughness=Sinusoid(amplitude=0.0005, wavelength=0.02))]
    # half a wavelength between the symmetry planes at a peak (x = 0) and a valley
    return StackCompaction(layers, interfaces, width=0.01, lateral="confined",
                           max_iterations=40, **kwargs, **QUIET)


def test_contact_fraction_rises_with_stack_pressure():
    """Rough (sinusoidal, 0.5 um amplitude, 20 um wavelength) lithium on LLZO under rising
    stack pressure (pressure control by the secant on the plate): the contact fraction grows
    strictly. Measured: 0.025, 0.050, 0.137, 0.294 at 0.1, 0.2, 0.4, 0.8 MPa (a coarse mesh:
    40 x 20 elements, 1/80 of the width per point; not a hardness measurement)."""
    stack = _lithium_on_llzo(elements_width=40)
    assert stack.pressure_method == "secant"
    fractions = []
    for pressure in (0.1, 0.2, 0.4, 0.8):
        stack.load(pressure, steps=1)
        assert stack.records[-1].pressure == pytest.approx(pressure, rel=1e-8)
        fractions.append(stack.records[-1].interfaces["interface_llzo_li"]["contact_fraction"])
    assert all(b > a for a, b in zip(fractions, fractions[1:])), fractions
    summary = stack.summary()["interfaces"]["interface_llzo_li"]
    assert summary["j_loc_over_j_app_at_peak"] == pytest.approx(1.0 / fractions[-1])


@pytest.mark.slow
def test_plastic_limit_contact_fraction_is_pressure_over_hardness():
    """Seed 003: fraction = P / H. Perfectly plastic lithium (J2, Y = 0.8 MPa, no hardening,
    E/Y ~ 1e4) with a shallow sinusoidal surface (slope <= 0.16) pressed on LLZO (E = 150 GPa,
    rigid-ish), frictionless, plane strain. H = (2 + pi) k = (2 + pi) Y / sqrt(3) = 2.97 Y:
    the Prandtl flat-punch pressure, the limit of a blunt asperity flattened by a rigid flat
    (Johnson, Contact Mechanics, ch. 6/7) -- the plane-strain counterpart of Tabor's H ~ 3Y.
    The contact patch must be resolved (the mesh is fine near the asperity: 0.05 um x 0.03 um
    elements); on coarse uniform meshes Q1 over-predicts H (40 x 20 elements of 0.25 x 1 um:
    4.3 .. 5.3 Y). Plate displacement control; measured f/(P/H) = 0.94, 0.91, 0.93, 1.03, 1.04
    (0.96 .. 1.04 on a mesh twice as fine: 80 + 14 columns, 45 graded rows)."""
    from scipy.optimize import brentq

    width, fine, n_fine, n_coarse = 0.01, 0.002, 40, 12
    h = fine / n_fine
    q = brentq(lambda q: h * (q ** n_coarse - 1) / (q - 1) - (width - fine), 1.0001, 5.0)
    x_nodes = np.concatenate([np.linspace(0.0, fine, n_fine + 1),
                              (fine + h * (q ** np.arange(1, n_coarse + 1) - 1) / (q - 1))[:-1],
                              [width]])
    stack = _lithium_on_llzo(x_nodes=x_nodes, elements=30, grading=1.1)
    hardness = plastic_hardness(stack.laws["li"], 2)
    assert hardness == pytest.approx((2 + np.pi) / np.sqrt(3) * 0.8)
    ratios = []
    for displacement in (0.005e-3, 0.0125e-3, 0.025e-3, 0.05e-3, 0.075e-3):
        stack.compress(displacement, steps=1)
        record = stack.records[-1]
        fraction = record.interfaces["interface_llzo_li"]["contact_fraction"]
        ratios.append(fraction / (record.pressure / hardness))
    assert fraction > 0.15
    assert np.all(np.abs(np.array(ratios) - 1.0) <= 0.10), ratios


MPI_SCRIPT = textwrap.dedent("""
    import json, sys
    import dolfinx_solver
    from mpi4py import MPI
    from nipstack.stack import StackCompaction, LayerSpec, InterfaceSpec
    from nipstack.meshes.stack import Sinusoid
    layers = [LayerSpec("cu", "copper_foil", 0.002, 1), LayerSpec("llzo", "llzo", 0.002, 1),
              LayerSpec("li", "lithium_metal", 0.005, 10, grading=1.2)]
    interfaces = [InterfaceSpec("cu", "llzo", "bonded"),
                  InterfaceSpec("llzo", "li", "contact", {"friction_coefficient": 0.2},
                                roughness=Sinusoid(0.0005, 0.02))]
    stack = StackCompaction(layers, interfaces, width=0.01, elements_width=24,
                            lateral="confined")
    stack.run(0.3, load_steps=2, hold_time=1.0, hold_steps=1, unload_steps=2,
              output=sys.argv[1])
    if MPI.COMM_WORLD.rank == 0:
        rows = [{"phase": r.phase, "pressure": r.pressure, "w": r.plate_displacement,
                 "fraction": r.interfaces["interface_llzo_li"]["contact_fraction"],
                 "max_pressure": r.interfaces["interface_llzo_li"]["max_pressure"]}
                for r in stack.records]
        with open(sys.argv[1] + "/records.json", "w") as handle:
            json.dump(rows, handle)
""")


@pytest.mark.mpi
def test_two_ranks_reproduce_one_rank(tmp_path):
    """Rough lithium on LLZO on a bonded copper foil: load, hold, unload, release, with the
    results folder; 2 ranks give the contact fraction (the same points are in contact: equal up
    to the summation order, 1e-16), pressure, plate displacement and peak interfacial pressure
    of 1 rank to 1e-8 on every loaded step (measured <= 4e-10). After the release the lithium floats on open contacts (its position
    is set by the weak regularisation spring), so that step is not compared."""
    script = tmp_path / "stack_case.py"
    script.write_text(MPI_SCRIPT)
    results = {}
    for ranks in (1, 2):
        out = tmp_path / f"r{ranks}"
        run = subprocess.run([MPIRUN, "-n", str(ranks), sys.executable, str(script), str(out)],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        results[ranks] = json.loads((out / "records.json").read_text())
        for name in ("history.csv", "summary.json", "interface_llzo_li_load.csv",
                     "interface_cu_llzo_unload.csv", "fields/fields.pvd"):
            assert (out / name).exists(), name
        # rank 0 alone prints: one line per step
        assert run.stdout.count("step ") == len(results[ranks])
    summary = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert summary["mpi_ranks"] == 2
    entry = summary["interfaces"]["interface_llzo_li"]
    assert entry["j_loc_over_j_app_at_peak"] == pytest.approx(
        1.0 / entry["contact_fraction_at_peak"])
    assert len(results[1]) == len(results[2])
    for one, two in zip(results[1], results[2]):
        assert one["phase"] == two["phase"]
        if one["phase"] == "release":
            continue
        for key in ("fraction", "pressure", "w", "max_pressure"):
            assert two[key] == pytest.approx(one[key], rel=1e-8), (one["phase"], key)
