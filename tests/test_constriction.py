"""Constriction resistance: Holm spots, the periodic-strip closed form, and the DOLFINx Laplace
solve that must reproduce it.

Benchmark (2D, per unit depth, kappa = 1 S/mm): one conducting strip |x - L| < a centred in a cell
of width W = 2L (L = 1 mm), reflecting (insulating) side walls -- by symmetry the same as a
periodic array of strips at period 2L -- on a layer of thickness H = 4L (exponential error of the
closed form e^(-pi H/L) = 3.5e-6). Mesh: ``build_constriction_mesh`` defaults for this cell,
h_far = 0.2 mm, h_edge = 2e-4 mm at the two strip edges, size growing by 0.2 x distance; P2.
Measured (Laplace vs closed form, ohm mm): a/L = 0.1: 0.590431 vs 0.590502 (-1.2e-4),
0.3: 0.251339 vs 0.251363 (-0.9e-4), 0.5: 0.110306 vs 0.110318 (-1.0e-4), 2.4k-2.6k triangles
(5.0k-5.5k P2 dofs); a/L = 1 (no refinement, 484 triangles): R_c / R_bulk = -2e-15.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import BIN, ROOT
from nipstack.constriction import (build_constriction_mesh, holm_resistance,
                                   laplace_constriction, strip_constriction_resistance)

L = 1.0       # mm, half-period
H = 4.0 * L   # mm, layer thickness
KAPPA = 1.0   # S/mm
FRACTIONS = [0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0]


def centred_strip(fraction, half_period=L):
    return [(half_period * (1.0 - fraction), half_period * (1.0 + fraction))]


@pytest.fixture(scope="module")
def strip_results():
    return {f: laplace_constriction(centred_strip(f), KAPPA, width=2 * L, thickness=H)
            for f in FRACTIONS}


# --- closed forms --------------------------------------------------------------------------------
def test_holm_single_and_parallel_spots():
    assert holm_resistance(0.01, 2e-4) == pytest.approx(1.0 / (4 * 2e-4 * 0.01), rel=1e-14)
    radii = np.array([0.01, 0.02, 0.005])
    expected = 1.0 / np.sum(4 * 2e-4 * radii)          # 1/R = sum 4 kappa a_i
    assert holm_resistance(radii, 2e-4) == pytest.approx(expected, rel=1e-14)
    assert holm_resistance([0.0, 0.0], 1.0) == float("inf")


def test_greenwood_two_equal_spots():
    """Two equal spots a at distance s: R = 1/(8 kappa a) + 1/(4 pi kappa s) (equal currents,
    each spot in the far field I/(2 pi kappa s) of the other); the correction vanishes as s grows."""
    a, s, kappa = 0.01, 0.1, 3e-4
    centres = [[0.0, 0.0], [s, 0.0]]
    got = holm_resistance([a, a], kappa, centres=centres, interaction="greenwood")
    assert got == pytest.approx(1 / (8 * kappa * a) + 1 / (4 * np.pi * kappa * s), rel=1e-13)
    far = holm_resistance([a, a], kappa, centres=[[0, 0], [1e6, 0]], interaction="greenwood")
    assert far == pytest.approx(holm_resistance([a, a], kappa), rel=1e-6)
    with pytest.raises(ValueError):
        holm_resistance([a, a], kappa, interaction="greenwood")


def test_strip_closed_form_limits():
    fractions = np.linspace(0.01, 1.0, 100)
    values = strip_constriction_resistance(fractions * L, L, KAPPA)
    assert values[-1] == 0.0                                   # full contact
    assert np.all(np.diff(values) < 0.0)                       # more contact, less resistance
    small = strip_constriction_resistance(1e-4, L, KAPPA)      # ln(2L / (pi a)) / (pi kappa)
    assert small == pytest.approx(np.log(2 * L / (np.pi * 1e-4)) / np.pi, rel=1e-8)
    assert strip_constriction_resistance(0.3, 1.0, 2.0) == pytest.approx(
        np.log(1 / np.sin(0.15 * np.pi)) / (2 * np.pi), rel=1e-14)
    with pytest.raises(ValueError):
        strip_constriction_resistance(1.5, 1.0, 1.0)


# --- finite elements vs the closed form ---------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_laplace_matches_strip_closed_form(strip_results, fraction):
    result = strip_results[fraction]
    exact = strip_constriction_resistance(fraction * L, L, KAPPA)
    assert result.constriction_resistance == pytest.approx(exact, rel=2e-2)
    # measured ~1e-4; the Galerkin energy bound puts the FE value below the exact one
    assert abs(result.constriction_resistance / exact - 1.0) < 1e-3
    assert result.constriction_resistance < exact
    # the direct top-edge flux agrees with the consistent (energy) flux
    assert result.current_top_edge == pytest.approx(result.current, rel=1e-4)
    assert result.bulk_resistance == pytest.approx(H / (KAPPA * 2 * L), rel=1e-14)
    assert result.contact_fraction == pytest.approx(fraction, rel=1e-12)
    assert result.cells < 5000


def test_full_contact_has_no_constriction(strip_results):
    result = strip_results[1.0]
    assert abs(result.constriction_resistance) < 1e-6 * result.bulk_resistance


def test_constriction_falls_monotonically_with_contact_fraction(strip_results):
    values = [strip_results[f].constriction_resistance for f in FRACTIONS]
    assert all(later < earlier for earlier, later in zip(values, values[1:]))
    assert values[0] > 0.0


def test_mesh_refinement_at_patch_edges_converges():
    """The error of R_c scales like the edge element size (energy of the r^(1/2) corner field)."""
    exact = strip_constriction_resistance(0.3 * L, L, KAPPA)
    errors = [exact - laplace_constriction(centred_strip(0.3), KAPPA, width=2 * L, thickness=H,
                                           h_far=0.2, h_edge=h_edge).constriction_resistance
              for h_edge in (4e-3, 4e-4)]
    assert errors[0] > 0.0 and errors[1] > 0.0
    assert errors[0] / errors[1] > 5.0      # ~10 for a tenfold smaller h_edge


def test_several_patches_and_patch_at_a_wall():
    """Two strips in a cell of two periods: half the one-period resistance. A strip against a
    wall in a half cell [0, L]: twice the centred-strip resistance (the symmetric half)."""
    a = 0.3 * L
    two = laplace_constriction([(L - a, L + a), (3 * L - a, 3 * L + a)], KAPPA,
                               width=4 * L, thickness=H)
    one = strip_constriction_resistance(a, L, KAPPA)
    assert two.constriction_resistance == pytest.approx(one / 2, rel=1e-3)
    half = laplace_constriction([(0.0, a)], KAPPA, width=L, thickness=H)
    assert half.constriction_resistance == pytest.approx(2 * one, rel=1e-3)


def test_given_mesh_and_conductivity_scaling():
    """A structured dolfinx mesh whose vertices include the strip ends, kappa = 2.5 S/mm.
    Without grading the edge singularity limits the error to O(h): measured -1.8 % at
    h = 0.025 mm (12.8k triangles, P2), against -1e-4 on the graded 2.6k-triangle mesh."""
    from dolfinx import mesh as dmesh
    from mpi4py import MPI
    mesh = dmesh.create_rectangle(MPI.COMM_WORLD, [[0.0, 0.0], [2 * L, H]], [80, 80],
                                  dmesh.CellType.triangle)
    kappa = 2.5
    result = laplace_constriction(centred_strip(0.5), kappa, mesh=mesh)
    exact = strip_constriction_resistance(0.5 * L, L, kappa)
    assert result.width == pytest.approx(2 * L) and result.thickness == pytest.approx(H)
    assert result.constriction_resistance == pytest.approx(exact, rel=3e-2)


def test_mesh_has_named_groups():
    data = build_constriction_mesh(2 * L, H, centred_strip(0.3))
    assert {"electrolyte", "contact", "interface_open", "top", "sides"} <= set(data.physical_groups)


@pytest.mark.mpi
def test_two_ranks_agree_with_one(tmp_path, strip_results):
    script = tmp_path / "constriction_mpi.py"
    script.write_text(textwrap.dedent("""
        import json
        from mpi4py import MPI
        from nipstack.constriction import laplace_constriction
        r = laplace_constriction([(0.7, 1.3)], 1.0, width=2.0, thickness=4.0)
        values = MPI.COMM_WORLD.gather(r.constriction_resistance)
        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps({"ranks": MPI.COMM_WORLD.size, "values": values,
                              "cells": r.cells}))
    """))
    result = subprocess.run([str(BIN / "mpirun"), "-n", "2", sys.executable, str(script)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1                                      # rank 0 alone prints
    out = json.loads(lines[0])
    assert out["ranks"] == 2 and out["cells"] == strip_results[0.3].cells
    serial = strip_results[0.3].constriction_resistance
    for value in out["values"]:                                 # every rank, the same number
        assert value == pytest.approx(serial, rel=1e-8)
