"""Cell partition weighted by the cost of each cell's constitutive law (issue 15).

The default DOLFINx partitioner balances cell counts. A cell's cost is mostly its material
update, and that differs by law: when the weight was chosen (NumPy kinematics) the
finite-strain layer cost 2-3 us a point for every law and a Drucker-Prager-Cap point on its
cap 16-20 us in all, so a DPC cell under load weighed about 7 others. Balancing counts, the
flat press at --refine 22 on 2 ranks put 5 874 DPC cells on one rank and 2 838 DPC + 2 904
J2 cells on the other. Compiled (`benchmarks/law_cost.py`, plane strain, one thread,
stresses and deferred tangent, session 20): J2 0.26 us elastic and 0.41 us plastic, DPC 0.51
and 3.71 us; the Jacobian assembly, the same for every law, now weighs as much as a J2
update. A weight of 3 instead of 7 gave the same 2-rank flat press at --refine 22 (25.6 and
28.7 s against 25.9 and 29.8 s, back to back), so 7 stays.

`cost_partitioner` gives `dolfinx.io.gmsh.model_to_mesh` a partitioner that sorts the cells by
height (y, the through-thickness axis of every layered mesh here), then along x (and z), and
cuts that order into pieces of equal total cost, one per rank: bands through the thickness,
split along the web only where a band has to end inside a row of elements. Bands keep the
nip of a calender (whose plastic cells move with the web) and the load of a press shared by
the ranks; the cut between two bands is one row of facets. The partition depends on the mesh
and the costs only, never on timings, so a run is reproducible on a given rank count.

The 3D nip slab is cut the other way (`columns=True`): strips across the width made of whole
element columns (ordered by z, then x), so that the column multigrid's blocks are not
cut by a rank boundary, and every strip still runs through the nip. With bands, every column
of the fine slab was split between the two ranks, and the two-rank column-multigrid solve took
twice the one-rank time (docs/benchmarks.md, "Column multigrid").
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (MPI before dolfinx)
import numpy as np
from dolfinx.cpp.graph import AdjacencyList_int32
from dolfinx.cpp.mesh import cell_num_vertices
from dolfinx.io.gmsh import extract_geometry, extract_topology_and_markers
from mpi4py import MPI

# relative cost per cell of a law, by class name (1 = the finite-strain layer alone)
LAW_COST = {"DruckerPragerCap": 7.0}


def law_costs(laws: dict) -> dict[str, float]:
    """{region name: relative cost of one of its cells} for {region name: law}."""
    return {name: LAW_COST.get(type(law).__name__, 1.0) for name, law in laws.items()}


def balanced_parts(centroids: np.ndarray, weights: np.ndarray, parts: int,
                   columns: bool = False) -> np.ndarray:
    """The part of each cell: cells ordered by height, then x (then z), cut into `parts`
    pieces of equal total weight (a cell goes to the piece holding its weight's midpoint).
    columns: whole element columns (cells of equal x and z) ordered by z, then x, cut into
    pieces of equal weight instead: strips across the width, each whole through the thickness
    (what the column multigrid needs; see the module)."""
    if columns:         # whole element columns, in the order of their (z, x)
        _, column = np.unique(np.round(centroids[:, [2, 0]], 12), axis=0,
                              return_inverse=True)
        column = column.ravel()
        column_weights = np.bincount(column, weights=weights)
        cumulative = np.cumsum(column_weights) - 0.5 * column_weights
        part = (cumulative * parts / column_weights.sum()).astype(np.int32)
        return np.minimum(part, parts - 1)[column]
    keys = [centroids[:, k] for k in range(centroids.shape[1]) if k != 1][::-1]
    order = np.lexsort(keys + [np.round(centroids[:, 1], 12)])
    cumulative = np.cumsum(weights[order]) - 0.5 * weights[order]
    part = np.minimum((cumulative * parts / weights.sum()).astype(np.int32), parts - 1)
    destination = np.empty(len(weights), dtype=np.int32)
    destination[order] = part
    return destination


def cost_partitioner(model, comm: MPI.Comm, costs: dict[str, float] | None,
                     columns: bool = False):
    """A partitioner for `model_to_mesh(model, comm, 0, ...)` balancing the cost of the
    physical groups named in `costs` (other cells weigh 1), or None (DOLFINx's default) on one
    rank, without costs, or for a mesh of several cell types. Call on every rank, before
    model_to_mesh, while the gmsh model holds the mesh on rank 0."""
    if comm.size == 1 or costs is None:
        return None
    weights = coordinates = None
    if comm.rank == 0:
        weights = _cell_weights(model, costs)
        coordinates = extract_geometry(model)
    if not comm.bcast(weights is not None, root=0):
        return None

    def partition(partition_comm, parts, cell_types, cells):
        if partition_comm.rank != 0 or weights is None:      # the cells are all on rank 0
            return AdjacencyList_int32(np.zeros(0, dtype=np.int32),
                                       np.zeros(1, dtype=np.int32))
        vertices = cells[0].reshape(len(weights), cell_num_vertices(cell_types[0]))
        centroids = coordinates[vertices].mean(axis=1)
        return AdjacencyList_int32(balanced_parts(centroids, weights, parts, columns))

    return partition


def _cell_weights(model, costs: dict[str, float]) -> np.ndarray | None:
    """The cost of every cell in the order model_to_mesh hands them to the partitioner (that
    of extract_topology_and_markers), or None if the cells are of several types."""
    topologies, groups = extract_topology_and_markers(model)
    dims = {kind: model.mesh.getElementProperties(kind)[1] for kind in topologies}
    tdim = max(dims.values())
    kinds = [kind for kind, dim in dims.items() if dim == tdim]
    if len(kinds) != 1:
        return None
    cost_of_tag = {group.tag: costs.get(name, 1.0) for name, group in groups.items()
                   if group.dim == tdim}
    tags = np.asarray(topologies[kinds[0]]["cell_data"])
    return np.array([cost_of_tag.get(int(tag), 1.0) for tag in tags], dtype=float)
