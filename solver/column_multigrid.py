"""Column multigrid: a two-level preconditioner for thin layered webs meshed in columns.

The nip slab (and any web or stack meshed as an extrusion through its thickness) is hard for
algebraic multigrid: its elements are 10x thinner than long, its foil is 40x stiffer than the
coating, and its free spans bend almost freely, so GAMG needs 500-1 500 Krylov iterations per
Newton solve (docs/benchmarks.md, "3D nip slab"). This preconditioner is built from the mesh's
own structure instead.

A *column* is the set of nodes that share their in-plane reference position (x in 2D; x and z
in 3D) and differ only in the thickness coordinate y. On a mesh drawn through the thickness in
layers every node belongs to one, and the thin direction is exactly the one inside a column.

- **Smoother (fine level):** block Jacobi whose blocks are the columns, each inverted exactly
  (dense, batched over the columns of one size), damped by ``SMOOTHER_DAMPING`` in a Richardson
  iteration of ``SMOOTHER_SWEEPS`` sweeps. The stiff coupling (through the thin layers,
  between the foil and the coating) lies inside a block, so the smoother removes every error
  that has through-thickness energy, whatever the stiffness contrast.
- **Coarse level:** the rigid motions of each column: in 3D three translations and the two
  rotations about the in-plane axes (a column is a line: the rotation about its own axis is a
  translation), in 2D two translations and the rotation. The tentative prolongation P maps
  them onto the column's nodes (orthonormalised per column), and the coarse operator is the
  Galerkin product P^T A P: a plate model of the web with the layers' real stiffness, which
  holds what the smoother cannot see, the bending and stretching of the web as a whole. It is
  factored by MUMPS (on every rank, like the fine LU, up to ``REDUNDANT_COARSE_MAX_DOFS``, so
  that runs repeat to the bit).

GMRES around it needed 17-20 iterations on the 3D slab's Jacobians from 3 393 to 17 136 dofs
(closing, rolling, frictionless, stiff guide), 20 at 61 560 dofs and 35 at 164 298 dofs with
one sweep (docs/benchmarks.md). It is two-level: the coarse problem is 5/(3 n) of the fine one
for columns of n nodes; a 1 M-dof slab has a ~200 k-dof coarse problem, a 2D-sparse one.

Under MPI every column is held whole by one rank (NodeColumns), so the preconditioner is the
same operator on any number of ranks, up to the order of floating-point sums.

Sources: the principle of line relaxation with semi-coarsening for anisotropic problems
(Trottenberg, Oosterlee, Schueller, *Multigrid*, 2001, ch. 5) and of smoothed aggregation with
rigid-body modes (Vanek, Mandel, Brezina, Computing 56, 1996); aggregates = columns is this
project's choice for layered webs.
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (loads MPI before petsc4py)
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

#: Damping of the column block-Jacobi smoother (Richardson scale).
SMOOTHER_DAMPING = 0.7
#: Smoother sweeps before and after the coarse correction (2: 20 GMRES iterations at 61 560
#: dofs against 26 with one sweep).
SMOOTHER_SWEEPS = 2
#: A column taller than this many nodes is smoothed in segments of at most this many (a dense
#: block costs its size cubed: a 129-node column of the 3D press at L = 8 would be 387 dofs).
MAX_BLOCK_NODES = 24
#: A mesh is "in columns" when its columns hold on average at least this many nodes.
MIN_NODES_PER_COLUMN = 3
#: Up to this many coarse dofs every rank factors the whole coarse matrix (reproducible).
REDUNDANT_COARSE_MAX_DOFS = 60_000


class NodeColumns:
    """The nodes of a displacement space grouped into columns (equal in-plane reference
    coordinates), each column ordered through the thickness (y), each column held whole by
    one rank.

    Under MPI a column may have nodes owned by several ranks (DOLFINx gives every shared node
    one owner). The columns are found by a hand-off: every rank sends its owned nodes to the
    column's *home* rank (a hash of the in-plane position), the home gives each column to the
    rank that owns most of its nodes (ties: the lowest rank), and sends it there. So every
    column is one block of the smoother and one set of coarse modes, whatever the partition.

    nodes: global node indices of this rank's columns, column after column, bottom to top;
    coordinates: theirs; dofs: their global dofs (components inner); sizes[c]: nodes in column c; column_starts[c]: its first entry;
    column_of_node[i], position_of_node[i]: the column and place of entry i."""

    def __init__(self, V):
        self.comm = comm = V.mesh.comm
        self.gdim = V.mesh.geometry.dim
        self.block_size = V.dofmap.index_map_bs
        index_map = V.dofmap.index_map
        owned = index_map.size_local
        self.owned_dofs = owned * self.block_size      # the space's, on this rank
        x = V.tabulate_dof_coordinates()[:owned, :self.gdim]
        extent = comm.allreduce(float(np.ptp(x, axis=0).max()) if owned else 0.0, op=MPI.MAX)
        tolerance = 1e-9 * max(extent, 1e-300)
        in_plane = [0] if self.gdim == 2 else [0, 2]
        k = len(in_plane)
        key = np.round(x[:, in_plane] / tolerance).astype(np.int64)
        first_node = index_map.local_range[0]
        nodes = (first_node + np.arange(owned)).astype(np.float64)   # exact below 2^53
        mine = np.column_stack([key, nodes, x])
        if comm.size > 1:
            mine = self._hand_off(mine, k)
        order = np.lexsort([mine[:, k + 1 + 1]] + [mine[:, i] for i in reversed(range(k))])
        mine = mine[order]                              # by key, then bottom to top
        self.nodes = mine[:, k].astype(np.int64)
        self.coordinates = mine[:, k + 1:]
        new_column = np.ones(len(mine), dtype=bool)
        if len(mine):
            new_column[1:] = np.any(mine[1:, :k] != mine[:-1, :k], axis=1)
        self.column_of_node = np.cumsum(new_column) - 1
        self.n_columns = int(new_column.sum())
        self.sizes = np.bincount(self.column_of_node, minlength=self.n_columns)
        self.column_starts = np.flatnonzero(new_column)
        self.position_of_node = np.arange(len(mine)) - self.column_starts[self.column_of_node]
        bs = self.block_size   # the global dofs of the entries, entry after entry
        self.dofs = (self.nodes[:, None] * bs + np.arange(bs)).ravel()

    def _hand_off(self, rows: np.ndarray, k: int) -> np.ndarray:
        """rows (key..., global node, coordinates) of the owned nodes -> those of the columns
        this rank is given (see the class docstring). Keys travel as floats: exact below 2^53."""
        comm, size = self.comm, self.comm.size
        home = np.mod(rows[:, :k].astype(np.int64) @ (7919 ** np.arange(k)), size)
        sent = comm.alltoall([rows[home == rank] for rank in range(size)])
        source = np.concatenate([np.full(len(part), rank) for rank, part in enumerate(sent)])
        received = np.concatenate(sent)
        _, column = np.unique(received[:, :k], axis=0, return_inverse=True)
        column = column.ravel()
        n_columns = int(column.max()) + 1 if len(column) else 0
        count = np.bincount(column * size + source, minlength=n_columns * size)
        keeper = count.reshape(n_columns, size).argmax(axis=1)[column]
        return np.concatenate(comm.alltoall([received[keeper == rank] for rank in range(size)]))

    def segments(self, max_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The columns cut into runs of at most max_nodes consecutive nodes, as equal as
        possible: (segment of each entry, its place in the segment, nodes per segment)."""
        pieces = -(-self.sizes // max_nodes)                    # per column, ceil
        size = self.sizes[self.column_of_node]
        count = pieces[self.column_of_node]
        piece = self.position_of_node * count // size
        first = np.concatenate([[0], np.cumsum(pieces)[:-1]])
        segment = first[self.column_of_node] + piece
        start = -(-piece * size // count)                      # first position of the piece
        nodes = np.bincount(segment, minlength=int(pieces.sum()))
        return segment, self.position_of_node - start, nodes

    def nodes_per_column(self) -> float:
        """The average over the whole mesh (all ranks)."""
        nodes = self.comm.allreduce(len(self.column_of_node))
        columns = self.comm.allreduce(self.n_columns)
        return nodes / max(columns, 1)

    def rigid_modes(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """The global dofs of a column and its rigid motions on them, orthonormal
        (dofs, modes)."""
        bs = self.block_size
        start = self.column_starts[column]
        entries = np.arange(start, start + self.sizes[column])
        x = self.coordinates[entries] - self.coordinates[entries].mean(axis=0)
        modes = np.zeros((len(entries) * bs, 3 if bs == 2 else 6))
        for direction in range(bs):
            modes[direction::bs, direction] = 1.0
        if bs == 2:
            modes[0::2, 2], modes[1::2, 2] = -x[:, 1], x[:, 0]
        else:
            modes[0::3, 3], modes[1::3, 3] = -x[:, 1], x[:, 0]
            modes[1::3, 4], modes[2::3, 4] = -x[:, 2], x[:, 1]
            modes[2::3, 5], modes[0::3, 5] = -x[:, 0], x[:, 2]
        q, r = np.linalg.qr(modes)
        independent = np.abs(np.diag(r)) > 1e-8 * np.abs(r[0, 0])
        return self.dofs[start * bs:(start + len(entries)) * bs], q[:, independent]


def in_columns(V) -> bool:
    """Whether V's mesh is drawn in node columns (MIN_NODES_PER_COLUMN on average)."""
    return NodeColumns(V).nodes_per_column() >= MIN_NODES_PER_COLUMN


def prolongation(columns: NodeColumns, comm) -> PETSc.Mat:
    """P: the rigid motions of every column as the coarse space (MPIAIJ: the fine rows of the
    space's owned dofs, the coarse columns of this rank's node columns, whose fine rows may
    be owned by another rank)."""
    rows, cols, values = [], [], []
    n_coarse = 0
    for column in range(columns.n_columns):
        dofs, modes = columns.rigid_modes(column)
        k = modes.shape[1]
        rows.append(np.repeat(dofs, k))
        cols.append(np.tile(np.arange(n_coarse, n_coarse + k), len(dofs)))
        values.append(modes.ravel())
        n_coarse += k
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    values = np.concatenate(values) if values else np.zeros(0)
    n_fine = comm.allreduce(len(columns.nodes)) * columns.block_size
    coarse_start = comm.exscan(n_coarse) or 0
    matrix = PETSc.Mat().create(comm)
    matrix.setSizes(((columns.owned_dofs, n_fine), (n_coarse, comm.allreduce(n_coarse))))
    matrix.setType(PETSc.Mat.Type.AIJ)
    matrix.setPreallocationCOO(rows.astype(PETSc.IntType),
                               (cols + coarse_start).astype(PETSc.IntType))
    matrix.setValuesCOO(values, addv=PETSc.InsertMode.INSERT_VALUES)
    matrix.assemble()
    return matrix


class ColumnSmoother:
    """PETSc python PC: y = B^-1 x with B the column blocks of the operator (each exact).

    Each rank smooths its own columns (NodeColumns), some of whose rows may be owned by another
    rank: under MPI x and y travel to and from them by a scatter. `gathered` is the sorted list
    of those global dofs; the blocks address them by their place in it."""

    def __init__(self, columns: NodeColumns):
        bs = columns.block_size
        block_of_node, place_of_node, block_nodes = columns.segments(MAX_BLOCK_NODES)
        entry_dofs = columns.dofs
        self.gathered = np.sort(entry_dofs).astype(PETSc.IntType)
        here = np.searchsorted(self.gathered, entry_dofs)     # each entry dof's place
        entry = np.arange(len(entry_dofs)) // bs
        self.block_of_dof = np.empty(len(here), dtype=np.int64)
        self.place_of_dof = np.empty(len(here), dtype=np.int64)
        self.block_of_dof[here] = block_of_node[entry]
        self.place_of_dof[here] = place_of_node[entry] * bs + np.arange(len(here)) % bs
        block_dofs = block_nodes * bs
        self.groups = []     # [block size, dofs (blocks, size), inverses (blocks, size, size)]
        self.index_in_group = np.empty(len(block_dofs), dtype=np.int64)
        self.group_of_block = np.empty(len(block_dofs), dtype=np.int64)
        for g, size in enumerate(np.unique(block_dofs)):
            blocks = np.flatnonzero(block_dofs == size)
            self.index_in_group[blocks] = np.arange(len(blocks))
            self.group_of_block[blocks] = g
            dofs = np.empty((len(blocks), size), dtype=np.int64)
            self.groups.append([int(size), dofs, None])
        members = np.argsort(self.block_of_dof, kind="stable")
        for g, (size, dofs, _) in enumerate(self.groups):
            in_group = members[self.group_of_block[self.block_of_dof[members]] == g]
            dofs[self.index_in_group[self.block_of_dof[in_group]],
                 self.place_of_dof[in_group]] = in_group
        self.parallel = columns.comm.size > 1
        self.sources = None      # per CSR source: (gathered place of its rows, blocks it fills)
        self.pattern = None      # (nonzeros per source, block entries per source)
        self.shared_rows = None  # under MPI: the operator on the dofs of shared columns
        self.scatter = None      # under MPI: x -> (x_gathered, y_gathered) -> y

    def find_sources(self, matrix):
        """Where the blocks come from: the blocks of columns whose rows this rank owns from the
        operator's diagonal block; under MPI, those of columns with rows owned elsewhere from a
        sequential submatrix of their dofs (``shared``, a few per cent of a strip partition)."""
        first, last = matrix.getOwnershipRange()
        owned = (self.gathered >= first) & (self.gathered < last)
        shared_block = np.zeros(len(self.index_in_group), dtype=bool)
        shared_block[self.block_of_dof[~owned]] = True
        in_shared = shared_block[self.block_of_dof]
        self.shared = self.gathered[in_shared]
        place = np.full(last - first, -1, dtype=np.int64)   # diagonal block's row -> gathered
        place[self.gathered[owned] - first] = np.flatnonzero(owned)
        self.sources = [(place, ~shared_block)]
        if self.parallel:
            self.sources.append((np.flatnonzero(in_shared), shared_block))
            x_gathered = PETSc.Vec().createSeq(len(self.gathered), comm=PETSc.COMM_SELF)
            index = PETSc.IS().createGeneral(self.gathered, comm=PETSc.COMM_SELF)
            scatter = PETSc.Scatter().create(matrix.createVecRight(), index, x_gathered, None)
            self.scatter = (scatter, x_gathered, x_gathered.duplicate())

    def setUp(self, pc):
        """Gather the column blocks of the operator and invert them. Where in the CSR values
        each block entry sits is found once per sparsity pattern (Newton keeps the pattern)."""
        matrix = pc.getOperators()[1]
        if self.sources is None:
            self.find_sources(matrix)
        diagonal = matrix.getDiagonalBlock() if matrix.getType().startswith("mpi") else matrix
        csr = [diagonal.getValuesCSR()]
        if self.parallel:
            index = PETSc.IS().createGeneral(self.shared, comm=PETSc.COMM_SELF)
            self.shared_rows = matrix.createSubMatrices(
                index, index,
                submats=None if self.shared_rows is None else [self.shared_rows])[0]
            csr.append(self.shared_rows.getValuesCSR())
        nonzeros = tuple(len(values) for _, _, values in csr)
        if self.pattern is None or self.pattern[0] != nonzeros:
            self.pattern = (nonzeros, [self.block_entries(indptr, indices, place, fills)
                                       for (indptr, indices, _), (place, fills)
                                       in zip(csr, self.sources)])
        for g, entry in enumerate(self.groups):
            size, dofs, _ = entry
            blocks = np.zeros(dofs.shape[0] * size * size)
            for (_, _, values), entries in zip(csr, self.pattern[1]):
                take, flat = entries[g]
                blocks[flat] = values[take]
            entry[2] = np.linalg.inv(blocks.reshape(-1, size, size))

    def block_entries(self, indptr, indices, place, fills) -> list:
        """Per group of blocks: the positions in one CSR source (local index i is the
        gathered dof place[i], -1 if none) of the entries inside a block that this source
        fills, and where each goes in the group's flattened (blocks, size, size) array."""
        rows = place[np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))]
        cols = place[indices]
        block = np.where(rows >= 0, self.block_of_dof[rows], -1)
        inside = np.flatnonzero((rows >= 0) & (cols >= 0) & fills[np.maximum(block, 0)]
                                & (block == np.where(cols >= 0, self.block_of_dof[cols], -2)))
        rows, cols, block = rows[inside], cols[inside], block[inside]
        group = self.group_of_block[block]
        entries = []
        for g, (size, _, _) in enumerate(self.groups):
            here = group == g
            flat = (self.index_in_group[block[here]] * size
                    + self.place_of_dof[rows[here]]) * size + self.place_of_dof[cols[here]]
            entries.append((inside[here], flat))
        return entries

    def apply(self, pc, x, y):
        if self.parallel:
            scatter, x_gathered, y_gathered = self.scatter
            scatter.scatter(x, x_gathered, PETSc.InsertMode.INSERT_VALUES,
                            PETSc.ScatterMode.FORWARD)
            self.apply_blocks(x_gathered.getArray(readonly=True), y_gathered.getArray())
            scatter.scatter(y_gathered, y, PETSc.InsertMode.INSERT_VALUES,
                            PETSc.ScatterMode.REVERSE)
        else:
            self.apply_blocks(x.getArray(readonly=True), y.getArray())

    def apply_blocks(self, source: np.ndarray, target: np.ndarray):
        for _, dofs, inverse in self.groups:
            target[dofs] = np.einsum("bij,bj->bi", inverse, source[dofs])


def configure(ksp: PETSc.KSP, V, options_prefix: str,
              columns: NodeColumns | None = None) -> PETSc.Mat:
    """Make ksp's preconditioner the column multigrid of V's mesh (the outer Krylov method's
    options are the caller's, under options_prefix; columns: V's, if already found). Returns
    P, which the caller keeps."""
    columns = columns or NodeColumns(V)
    comm = V.mesh.comm
    P = prolongation(columns, comm)
    options = PETSc.Options()
    coarse_dofs = P.getSize()[1]
    settings = {"pc_type": "mg", "pc_mg_levels": 2, "pc_mg_galerkin": "both",
                "mg_levels_ksp_type": "richardson",
                "mg_levels_ksp_richardson_scale": SMOOTHER_DAMPING,
                "mg_levels_ksp_max_it": SMOOTHER_SWEEPS,
                "mg_levels_ksp_norm_type": "none", "mg_coarse_ksp_type": "preonly"}
    if comm.size > 1 and coarse_dofs <= REDUNDANT_COARSE_MAX_DOFS:
        settings.update({"mg_coarse_pc_type": "redundant", "mg_coarse_redundant_pc_type": "lu",
                         "mg_coarse_redundant_pc_factor_mat_solver_type": "mumps"})
    else:
        settings.update({"mg_coarse_pc_type": "lu",
                         "mg_coarse_pc_factor_mat_solver_type": "mumps"})
    for key, value in settings.items():
        options[options_prefix + key] = value
    ksp.setFromOptions()
    pc = ksp.getPC()
    pc.setMGInterpolation(1, P)
    smoother_pc = pc.getMGSmoother(1).getPC()
    smoother_pc.setType(PETSc.PC.Type.PYTHON)
    smoother_pc.setPythonContext(ColumnSmoother(columns))
    for key in settings:
        options.delValue(options_prefix + key)
    return P
