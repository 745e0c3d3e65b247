r"""The geometry of a band interface: which nodes face each other, the band height, the initial
gap, and the local frame and gap at the band's points (the equations are in
``nipstack.interfaces``).

Each band cell pairs its nodes in vertical columns (``meshes.stack.build_stack``: structured,
vertical element edges): a bottom node on the lower layer's top face and a top node on the upper
layer's bottom face. From those columns come

    eta   = 0 on the bottom face, 1 on the top face              (nodal, degree 1)
    H     = Y_top - Y_bottom of the column                         (the band height)
    g0    = H - h  where the interface is rough, else 0            (the initial gap, >= 0)

nodal fields on quadrilaterals/hexahedra (the linear interpolant of the column values), cell
fields on the two P1 triangles of a band cell (the height of the triangle's vertical edge).
"""
from __future__ import annotations

from dataclasses import dataclass

import basix
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
import ufl
from dolfinx import fem, la
from mpi4py import MPI


@dataclass
class BandFields:
    """eta, H and g0 of every band (zero elsewhere) and the band columns' displacement blocks."""

    eta: fem.Function            # nodal: 0 on the bottom faces, 1 on the top faces
    height: fem.Function         # H (mm): nodal (quadrilaterals, hexahedra) or per cell (P1)
    initial_gap: fem.Function    # g0 (mm), same space as H
    column_pairs: np.ndarray     # (bottom, top) displacement blocks of the band columns


def interface_quadrature(problem, quadrature: str):
    """(points, weights, measure metadata) of the band integrals: "gauss" is the problem's
    rule, "nodal" the cell's vertices with equal weights (FFCx "vertex" rule)."""
    mesh = problem.mesh
    if quadrature == "gauss":
        return problem.points, np.asarray(problem.weights), {
            "quadrature_degree": problem.quadrature_degree, "quadrature_scheme": "default"}
    if quadrature == "nodal":
        cell_type = getattr(basix.CellType, mesh.topology.cell_name())
        points = basix.geometry(cell_type)
        weights = np.full(len(points), basix.cell.volume(cell_type) / len(points))
        return points, weights, {"quadrature_degree": 1, "quadrature_rule": "vertex"}
    raise ValueError(f"quadrature must be 'gauss' or 'nodal', got {quadrature!r}")


def cell_columns(name: str, cell: int, P: np.ndarray, tol: float, gdim: int, simplex: bool):
    """The (bottom, top) local node pairs of band cell `cell` whose nodes P (k, 3) share a
    vertical column (same x, and same z in 3D, within tol)."""
    k = len(P)
    pairs = []
    for i in range(k):
        for j in range(i + 1, k):
            same_column = abs(P[i, 0] - P[j, 0]) <= tol and (
                gdim == 2 or abs(P[i, 2] - P[j, 2]) <= tol)
            if same_column:
                pairs.append((i, j) if P[i, 1] < P[j, 1] else (j, i))
    if not pairs or (not simplex and 2 * len(pairs) != k):
        raise ValueError(f"band '{name}': cell {cell} does not pair its nodes in "
                         "vertical columns (the band must come from build_stack)")
    return pairs


def band_fields(problem, bands: dict, stack_mesh) -> BandFields:
    """eta, H and g0 from the node coordinates of the band cells `bands` ({name: band with
    its local `cells`}; stack_mesh.bands[name] gives the band thickness h and whether it is
    rough). The face classification of triangle nodes that are not on their cell's vertical
    edge is completed by a reverse/forward scatter."""
    mesh = problem.mesh
    simplex = mesh.topology.cell_name() in ("triangle", "tetrahedron")
    S1 = fem.functionspace(mesh, ("Lagrange", 1))
    SH = fem.functionspace(mesh, ("DG", 0)) if simplex else S1
    fields = BandFields(eta=fem.Function(S1, name="band_eta"),
                        height=fem.Function(SH, name="band_height"),
                        initial_gap=fem.Function(SH, name="band_initial_gap"),
                        column_pairs=np.zeros((0, 2), dtype=np.int64))
    # on each rank holding a node in a band cell: its face (bottom, top) and, on
    # quadrilaterals/hexahedra, its column height H, band thickness h, rough flag and a count
    marks = {key: fem.Function(S1) for key in ("bottom", "top", "H", "h", "rough", "count")}
    tol = 1e-10 * stack_mesh.width
    column_pairs = []      # (bottom, top) displacement blocks of the band columns
    for name, band in bands.items():
        column_pairs += _mark_band_columns(problem, name, band.cells, stack_mesh.bands[name],
                                           tol, fields, marks, simplex)
    fields.column_pairs = np.unique(np.array(column_pairs, dtype=np.int64).reshape(-1, 2),
                                    axis=0)
    for f in (marks["bottom"], marks["top"]):
        f.x.scatter_reverse(la.InsertMode.add)
        f.x.scatter_forward()
    bottom, top = marks["bottom"].x.array, marks["top"].x.array
    if mesh.comm.allreduce(int(np.any((bottom > 0) & (top > 0))), op=MPI.MAX):
        raise ValueError("a node lies on both faces of a band")
    fields.eta.x.array[:] = np.where(top > 0, 1.0, 0.0)
    if not simplex:
        _average_nodal_heights(fields, marks)
    fields.height.x.scatter_forward()
    fields.initial_gap.x.scatter_forward()
    return fields


def _mark_band_columns(problem, name, cells, info, tol, fields, marks, simplex) -> list:
    """Mark the faces of the columns of band `name`'s cells (and their heights: per node in
    `marks` on quadrilaterals/hexahedra, per cell in `fields` on triangles); returns the
    columns' (bottom, top) displacement blocks."""
    mesh = problem.mesh
    x = mesh.geometry.x
    xdofs = mesh.geometry.dofmaps[0]
    v_dofs = problem.V.dofmap.list
    s1_dofs = marks["bottom"].function_space.dofmap.list
    sh_dofs = fields.height.function_space.dofmap.list
    h = info.thickness
    column_pairs = []
    for c in cells:
        P = x[xdofs[c]]
        dofs1 = s1_dofs[c]
        heights = []
        for i, j in cell_columns(name, c, P, tol, mesh.geometry.dim, simplex):
            column_pairs.append((v_dofs[c][i], v_dofs[c][j]))
            height = P[j, 1] - P[i, 1]
            heights.append(height)
            marks["bottom"].x.array[dofs1[i]] = 1.0
            marks["top"].x.array[dofs1[j]] = 1.0
            if not simplex:
                for node in (dofs1[i], dofs1[j]):
                    marks["H"].x.array[node] = height
                    marks["h"].x.array[node] = h
                    marks["rough"].x.array[node] = float(info.max_initial_gap > 0.0)
                    marks["count"].x.array[node] = 1.0
        if simplex:
            height = heights[0]
            fields.height.x.array[sh_dofs[c]] = height
            fields.initial_gap.x.array[sh_dofs[c]] = \
                0.0 if info.max_initial_gap == 0.0 else max(height - h, 0.0)
    return column_pairs


def _average_nodal_heights(fields: BandFields, marks: dict):
    """Nodal H and g0 = max(H - h, 0) (rough bands) from the marks: owner and ghost copies of
    a node were set alike, so the owner averages the sum of the copies (the forward scatter
    that follows sends the value to the ghosts)."""
    for key in ("H", "h", "rough", "count"):
        marks[key].x.scatter_reverse(la.InsertMode.add)
    count = np.maximum(marks["count"].x.array, 1.0)
    H = marks["H"].x.array / count
    rough = marks["rough"].x.array > 0.0
    fields.height.x.array[:] = H
    fields.initial_gap.x.array[:] = np.where(
        rough, np.maximum(H - marks["h"].x.array / count, 0.0), 0.0)


def band_kinematics(u, fields: BandFields, gdim: int):
    """The UFL of the band's local gap and frame (``nipstack.interfaces``): returns
    (g_loc = [g_n, g_t...], frame = [n, t1(, t2)], w = |T_ref| or |T2 x T1|) with
    Delta = H du/dY, d = Delta + g0 e_Y, g_n = d . n, g_t = Delta . t."""
    H, g0, eta = fields.height, fields.initial_gap, fields.eta
    F = ufl.Identity(gdim) + ufl.grad(u)
    dYu = ufl.as_vector([ufl.grad(u)[i, 1] for i in range(gdim)])
    e_Y = ufl.as_vector([0.0, 1.0] + [0.0] * (gdim - 2))
    Delta = H * dYu
    d = Delta + g0 * e_Y
    ge = ufl.grad(eta)
    if gdim == 2:
        T = ufl.as_vector([1.0, -H * ge[0]])
        a = F * T
        t1 = a / ufl.sqrt(ufl.dot(a, a))
        n = ufl.as_vector([-t1[1], t1[0]])
        frame = [n, t1]
        w = ufl.sqrt(ufl.dot(T, T))
    else:
        T1 = ufl.as_vector([1.0, -H * ge[0], 0.0])
        T2 = ufl.as_vector([0.0, -H * ge[2], 1.0])
        a1, a2 = F * T1, F * T2
        c = ufl.cross(a2, a1)
        n = c / ufl.sqrt(ufl.dot(c, c))
        t1 = a1 / ufl.sqrt(ufl.dot(a1, a1))
        t2 = ufl.cross(t1, n)
        frame = [n, t1, t2]
        cw = ufl.cross(T2, T1)
        w = ufl.sqrt(ufl.dot(cw, cw))
    g_loc = ufl.as_vector([ufl.dot(d, n)] + [ufl.dot(Delta, e) for e in frame[1:]])
    return g_loc, frame, w
