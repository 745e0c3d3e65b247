"""The [solver] table: Newton, cut-backs and the linear solve. The fields are the same for
every kind that has them; the defaults are each kind's own where its problem needs another
(the calender's contact edges move through the mesh every step; a stack's interface bands
need degree-1 elements; a running crack needs more halvings)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import StrictModel


def _cutbacks(default: int):
    return Field(default, ge=0, le=30, description="Consecutive step halvings allowed before "
                                                   "the run stops.")


def _iterations(default: int):
    return Field(default, ge=1, le=200, description="Newton iterations per step.")


class Solver(StrictModel):
    """What every kind's solve takes (kind = 'delamination' takes only these)."""

    newton_rtol: float = Field(1e-9, gt=0, lt=1, description="Newton tolerance, relative to "
                                                             "the internal-force norm (-).")
    max_cutbacks: int = _cutbacks(6)
    petsc_options: dict[str, str | int | float] = Field(
        default_factory=dict, description="PETSc options for the linear solve, e.g. "
                                          "{ksp_type='gmres', pc_type='gamg'} (default: MUMPS "
                                          "LU, or its LDL^T when every law and contact of the "
                                          "run is symmetric (elastic, J2, creep; no friction, "
                                          "no interfaces); on several ranks up to 60 000 dofs the whole "
                                          "matrix on every rank, which is reproducible run to "
                                          "run; a trilinear 3D mesh drawn in node columns "
                                          "through its thickness, such as the nip slab, from "
                                          "15 000 dofs on "
                                          "GMRES with nipstack's column multigrid, "
                                          "pc_type='columns'; any other mesh from 300 000 dofs "
                                          "in 3D and 1 000 000 in 2D "
                                          "on GMRES with GAMG and the rigid-body "
                                          "near-nullspace). Options not given keep the defaults "
                                          "of the chosen kind (LU, columns or GAMG).")


class DelaminationSolver(Solver):
    """The DCB/ENF specimen: the crack runs in bursts, each met by halving the opening step."""

    max_cutbacks: int = _cutbacks(10)


class MeshSolver(Solver):
    """A press, calender or stack mesh: the solver of kind = 'flat_press'."""

    element_degree: Literal[1, 2] = Field(2, description="Lagrange degree of the displacement "
                                                         "(a calender web with [[interfaces]] "
                                                         "uses 1).")
    newton_atol: float = Field(1e-10, gt=0, description="Absolute residual tolerance, N.")
    max_iterations: int = _iterations(12)


class CalenderSolver(MeshSolver):
    """The roll nip (and the 2D runs of kind calender_width): contact edges move through the
    mesh every step, so Newton gets more iterations."""

    max_iterations: int = _iterations(25)


class StackSolver(MeshSolver):
    """A cell stack: degree 1 (the interface bands need it)."""

    element_degree: Literal[1] = Field(1, description="Lagrange degree of the displacement: 1 "
                                                      "(the interface bands need it).")
    max_iterations: int = _iterations(30)
