"""The calender's steady rolling predictor (solver/calender/steady_predictor.py) on a web whose
motion is steady by construction: u(X, t) = g(X_x + t, X_y) + (t, 0), which satisfies the
steady-nip identity u(X, t + h) = u(X + h, t) + h e_x for every h. Its prediction of the step
t -> t + a must then be the exact u(X, t + a) at every node whose X + s is a node (s = h
ceil(a / h)), the kinematic u(X, t) + a e_x at the others, and nothing at all until the states
it needs are remembered. Nodal values only: no form is compiled. The same on 2 ranks."""
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
import numpy as np
import pytest
from dolfinx import fem, mesh
from mpi4py import MPI

from conftest import ROOT, result_on_ranks
from nipstack.calender.steady_predictor import SteadyRollingPredictor

LENGTH, HEIGHT, ELEMENTS = 2.0, 0.1, 16         # mm; element length h = 0.125 mm


def bend(x, t):
    """g(X_x + t, X_y): a bend and a squeeze that travel with the web, mm."""
    xi = x[0] + t
    return np.vstack([0.002 * np.sin(3.0 * xi) * x[1] / HEIGHT,
                      0.004 * np.cos(2.0 * xi) - 0.01 * x[1] * np.exp(-xi)])


class Web:
    """What the predictor reads of a MechanicsProblem: V, gdim and u."""

    def __init__(self, comm, degree):
        domain = mesh.create_rectangle(comm, [[0.0, 0.0], [LENGTH, HEIGHT]], [ELEMENTS, 2],
                                       mesh.CellType.quadrilateral)
        self.V = fem.functionspace(domain, ("Lagrange", degree, (2,)))
        self.gdim = 2
        self.u = fem.Function(self.V)

    def set_state(self, t):
        self.u.interpolate(lambda x: bend(x, t) + np.array([[t], [0.0]]))

    def owned(self):
        n = self.V.dofmap.index_map.size_local
        return self.u.x.array.reshape(-1, 2)[:n].copy()


def predict(degree: int, steps_fraction: float, comm=MPI.COMM_WORLD) -> dict:
    """Remember the steady states at travels 0, a, 2a, 3a (asking for a prediction of the
    first step in between), then predict the step 3a -> 4a; returns what the tests check
    (over all ranks)."""
    web = Web(comm, degree)
    h = LENGTH / ELEMENTS
    a = steps_fraction * h
    predictor = SteadyRollingPredictor(web, h, comm)
    web.set_state(0.0)
    predictor.remember(0.0)
    before = web.owned()
    too_early = predictor.apply(0.0, a)          # needs the state at -s
    untouched = bool(np.array_equal(before, web.owned()))
    for k in (1, 2, 3):
        web.set_state(k * a)
        predictor.remember(k * a)
    start = web.owned()
    applied = predictor.apply(3 * a, a)
    predicted = web.owned()
    web.set_state(4 * a)
    exact = web.owned()
    shift = h * np.ceil(a / h - 1e-6)
    X = web.V.tabulate_dof_coordinates()[:len(start), 0]
    downstream_is_node = X + shift <= LENGTH + 1e-9
    kinematic = start + np.array([a, 0.0])
    mapped_error = np.abs(predicted - exact)[downstream_is_node].max(initial=0.0)
    rest_error = np.abs(predicted - kinematic)[~downstream_is_node].max(initial=0.0)
    return {"too_early": bool(comm.allreduce(too_early, op=MPI.LOR)),
            "untouched": bool(comm.allreduce(untouched, op=MPI.LAND)),
            "applied": bool(applied),
            "mapped": int(comm.allreduce(int(downstream_is_node.sum()))),
            "mapped_error": comm.allreduce(float(mapped_error), op=MPI.MAX),
            "rest_error": comm.allreduce(float(rest_error), op=MPI.MAX),
            "size": float(comm.allreduce(float(np.abs(exact - start).max()), op=MPI.MAX))}


def _exact(result, mapped_nodes):
    assert not result["too_early"] and result["untouched"]
    assert result["applied"]
    assert result["mapped"] == mapped_nodes
    assert result["size"] > 1e-3               # the step does move the web
    assert result["mapped_error"] <= 1e-14      # measured 6e-17 to 2e-16
    assert result["rest_error"] <= 1e-14


@pytest.mark.parametrize("degree, fraction, mapped", [
    (2, 0.5, (2 * ELEMENTS - 1) * 5),            # half an element: shift one element (2 nodes)
    (1, 0.5, ELEMENTS * 3),                      # Q1: shift one element (1 node)
    (1, 2.0, (ELEMENTS - 1) * 3)])               # two elements: shift two
def test_a_steady_web_is_predicted_exactly(degree, fraction, mapped):
    _exact(predict(degree, fraction), mapped)


def test_a_step_that_does_not_line_up_with_the_history_is_left_kinematic():
    """An advance of 0.3 h needs the state at 3a - h + a, which no step reached."""
    result = predict(2, 0.3)
    assert not result["applied"]


@pytest.mark.mpi
def test_two_ranks_predict_the_same(tmp_path):
    _exact(result_on_ranks(tmp_path, "test_steady_predictor", "predict(2, 0.5)"),
           (2 * ELEMENTS - 1) * 5)


def test_every_calender_layout_lines_up_for_the_steady_predictor():
    """The predictor relates states a whole number of elements of travel apart: every shipped
    calender's travel is a whole number of steps of exactly step_fraction elements, and its
    fine zone a whole number of elements of the layout's element length (both were rounded
    up from the contact length before; a travel of 27.9999 steps gave 29 steps each a bit
    short, and the 3D slab's predictor never applied)."""
    from nipstack.calender.layout import lay_out
    from nipstack.case import layer_laws, load_case

    checked = 0
    for path in sorted((ROOT / "cases").glob("*.toml")):
        case = load_case(path)
        if case.case.kind != "calender":
            continue
        layout = lay_out(case, layer_laws(case.layers))
        steps = layout.travel / (case.calender.step_fraction * layout.element_length)
        assert abs(steps - round(steps)) <= 1e-9, (path.name, steps)
        fine_length, elements = layout.segments[1]
        assert fine_length == pytest.approx(elements * layout.element_length, rel=1e-12)
        checked += 1
    assert checked >= 6
