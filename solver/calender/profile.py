"""The state of the web along and through it, gathered from all ranks: the cells of a layer, the
exit zone and its porosity profile, the nodal profile of the roll-side surface (the nip
tractions) and the nodes of a named face.

In 3D (a slab through the width, `slab.py`) `cells`, `surface_profile` and `boundary_nodes`
give the lane's centre section: the cells of the first element column beside z = 0 and the
nodes on z = 0, in the 2D layout (x, y); `cells_3d` and `face_nodes` give the whole slab.

The *exit zone* is material that started upstream of the nip (past the inlet tail and more than
1.5 contact lengths before the roll centres) and is now `exit_distance` contact lengths past the
roll centre line: it went all the way through the nip and sprang back.
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI


class NipProfiles:
    def __init__(self, problem, nip, layout, exit_distance: float, comm):
        self.problem, self.nip, self.layout, self.comm = problem, nip, layout, comm
        self.exit_distance = exit_distance

    def exit_mask(self, X, x):
        """The exit zone (see the module), from reference X and current x."""
        layout = self.layout
        a = layout.contact_estimate
        return (x > layout.nip_x + self.exit_distance * a) & (X < layout.nip_x - 1.5 * a) & \
            (X > layout.inlet_tail)

    def _cell_data(self, layer, stress=False):
        """Per owned cell of a layer (default: the roll-side coating): reference and current
        centroid (gdim each), porosity, volume ratio J, plastic volumetric strain and, with
        `stress`, the machine-direction Cauchy stress sigma_xx (quadrature-weighted cell
        averages)."""
        problem = self.problem
        name = (layer or self.layout.coating).name
        region = next(r for r in problem.regions if r.name == name)
        mesh = problem.mesh
        n_owned = mesh.topology.index_map(mesh.topology.dim).size_local
        owned = region.cells < n_owned
        X_expr = fem.Expression(ufl.SpatialCoordinate(mesh), problem.points)
        x_expr = fem.Expression(ufl.SpatialCoordinate(mesh) + problem.u, problem.points)
        cells = region.cells[owned]
        w = problem.weights / problem.weights.sum()
        X = np.einsum("cqi,q->ci", X_expr.eval(mesh, cells), w)
        x = np.einsum("cqi,q->ci", x_expr.eval(mesh, cells), w)
        fields = problem.region_fields(region)
        average = {k: problem.cell_average(region, v)[owned] for k, v in fields.items()}
        columns = [X, x, average["porosity"], average["volume_ratio"],
                   average.get("plastic_volumetric_strain", np.zeros(len(cells)))]
        if stress:          # (Mandel component 0 of the Kirchhoff stress is tau_xx)
            columns.append(problem.cell_average(region, region.tau[:, 0] / region.J)[owned])
        return np.column_stack(columns)

    def cells(self, layer=None):
        """Per cell of a layer (default: the roll-side coating), gathered from all ranks:
        reference and current centroid (x, y), porosity, volume ratio J, plastic volumetric
        strain (quadrature-weighted cell averages). In 3D the lane's centre section."""
        data = self._cell_data(layer)
        if self.problem.gdim == 3:
            Z = data[:, 2]
            first = self.comm.allreduce(float(Z.min(initial=np.inf)), op=MPI.MIN)
            section = Z <= first * (1.0 + 1e-9)
            data = data[section][:, [0, 1, 3, 4, 6, 7, 8]]
        return np.vstack(self.comm.allgather(data))

    def cells_3d(self, layer=None, stress=False):
        """`cells` over the whole 3D slab: X, Y, Z, x, y, z, porosity, J, plastic volumetric
        strain (and sigma_xx with `stress`), gathered from all ranks."""
        return np.vstack(self.comm.allgather(self._cell_data(layer, stress)))

    def exit_profile(self, cells=None):
        """Exit porosity along the web: (X of each exited column, its mean porosity, the mask
        of the exited cells), or None while no material has left the nip."""
        cells = self.cells() if cells is None else cells
        X, x, porosity, J = cells[:, 0], cells[:, 2], cells[:, 4], cells[:, 5]
        exited = self.exit_mask(X, x)
        if not exited.any():
            return None
        columns = np.round(X[exited] / (0.5 * self.layout.element_length)).astype(int)
        keys = np.unique(columns)
        column_x = np.array([X[exited][columns == k].mean() for k in keys])
        # volume-weighted (J) porosity of each column: 1 - solid volume / volume
        column_porosity = np.array([
            np.sum(J[exited][columns == k] * porosity[exited][columns == k])
            / np.sum(J[exited][columns == k]) for k in keys])
        return column_x, column_porosity, exited

    def surface_profile(self):
        """Nodal profile of the top surface, sorted along the web: x from the roll centre line,
        y, contact pressure p, roll normal (n_x, n_y), shear traction on the web (MPa, > 0
        drives it forward; the regularised Coulomb law on the last step's slip), penetration
        into the roll (mm, > 0 in contact). The values are the solver's own contact law
        (``RollContact.surface_values``) at the nodes."""
        problem = self.problem
        V = problem.V
        facets = problem.boundary_facets("top")
        dofs = fem.locate_dofs_topological(V.sub(1), problem.mesh.topology.dim - 1, facets)
        nodes = np.unique(dofs // V.dofmap.index_map_bs)       # unrolled dof -> node (block)
        nodes = nodes[nodes < V.dofmap.index_map.size_local]   # owned nodes only
        X = V.tabulate_dof_coordinates()[nodes]
        if problem.gdim == 3:                                  # the lane's centre section
            centre = np.abs(X[:, 2]) <= 1e-12
            nodes, X = nodes[centre], X[centre]
        x = X[:, :2] + problem.u.x.array.reshape(-1, problem.gdim)[nodes, :2]
        values = self.nip.surface_values(0).x.array.reshape(-1, 5)[nodes]
        data = np.column_stack([x[:, 0] - self.layout.nip_x, x[:, 1], values])
        data = np.vstack(self.comm.allgather(data))
        order = np.argsort(data[:, 0])
        return data[order]

    def contact_arc(self):
        """(entry, exit) x of the top roll's contact arc (current configuration, mm from the
        roll centre line), or None out of contact."""
        surface = self.surface_profile()
        touching = surface[:, 6] > 0
        if not touching.any():
            return None
        return float(surface[touching, 0].min()), float(surface[touching, 0].max())

    def face_nodes(self, name):
        """Reference and current coordinates (gdim each) of the owned nodes on a named facet
        set, all ranks."""
        problem = self.problem
        V, gdim = problem.V, problem.gdim
        tag = problem.region_tag(name, gdim - 1)
        facets = problem.facet_tags.find(tag)
        dofs = fem.locate_dofs_topological(V.sub(0), gdim - 1, facets)
        nodes = np.unique(dofs // V.dofmap.index_map_bs)
        nodes = nodes[nodes < V.dofmap.index_map.size_local]
        X = V.tabulate_dof_coordinates()[nodes, :gdim]
        x = X + problem.u.x.array.reshape(-1, gdim)[nodes]
        return np.vstack(self.comm.allgather(np.column_stack([X, x])))

    def boundary_nodes(self, name):
        """Reference and current (x, y) of the nodes on a named facet set, all ranks (in 3D
        those on the lane's centre plane z = 0)."""
        nodes = self.face_nodes(name)
        if self.problem.gdim == 3:
            nodes = nodes[np.abs(nodes[:, 2]) <= 1e-12][:, [0, 1, 3, 4]]
        return nodes

    def _within(self, nodes, X_range):
        """The nodes whose reference x lies in X_range. (The range's ends are cell centroids,
        which a degree-2 mesh has nodes on: the tolerance keeps those nodes in, not a
        round-off coin flip.)"""
        low, high = np.asarray(X_range) + np.array([-1.0, 1.0]) * 1e-6 * \
            self.layout.element_length
        return nodes[(nodes[:, 0] >= low) & (nodes[:, 0] <= high)]

    def _measured_range(self, nodes, X_range, columns: int):
        """X_range (between exit-cell centroids), or, where fewer than `columns` node columns
        lie in it, the same cells from face to face: a short exit zone of a linear mesh has no
        node between the centroids of its one cell (a thickness needs 1 column) and one column
        between those of two (an elongation needs 2)."""
        if len(np.unique(self._within(nodes, X_range)[:, 0])) < columns:
            half = 0.5 * self.layout.element_length
            return (X_range[0] - half, X_range[1] + half)
        return X_range

    def _height_difference(self, lower_nodes, upper_nodes, X_range) -> float:
        """Mean current height of `upper_nodes` minus that of `lower_nodes` over the material
        that started in X_range (reference x, mm)."""
        X_range = self._measured_range(upper_nodes, X_range, 1)
        return float(self._within(upper_nodes, X_range)[:, 3].mean()
                     - self._within(lower_nodes, X_range)[:, 3].mean())

    def exit_thickness(self, X_range, lower: str, upper: str) -> float:
        """A layer's exit thickness: its `upper` facet set's mean height minus its `lower`
        one's, over the material that started in X_range (reference x, mm)."""
        return self._height_difference(self.boundary_nodes(lower), self.boundary_nodes(upper),
                                       X_range)

    def exit_geometry(self, X_range, coating_base: str):
        """Exit thickness of the roll-side coating (top face minus the `coating_base` face)
        and machine-direction elongation of the web over the material that started in X_range
        (reference x, mm) and has left the nip."""
        top = self.boundary_nodes("top")
        thickness = self._height_difference(self.boundary_nodes(coating_base), top, X_range)
        chosen_top = self._within(top, self._measured_range(top, X_range, 2))
        order = np.argsort(chosen_top[:, 0])
        first, last = chosen_top[order[0]], chosen_top[order[-1]]
        elongation = (last[2] - first[2]) / (last[0] - first[0])
        return thickness, elongation

    def exit_zone_loads(self, records) -> dict:
        """The line load the exit zone's material was rolled under: mean, min and max over
        the rolling steps during which it was in the nip (from one contact length before it
        reached the roll centre line until it passed it). The last step's line load can be off
        by a rough interface passing through the nip or a controller correction
        (docs/lamination.md); a sweep should plot its results against this mean."""
        layout = self.layout
        top = self.boundary_nodes("top")
        exited = top[self.exit_mask(top[:, 0], top[:, 2])]
        if not len(exited):
            return {}
        first = layout.nip_x - exited[:, 0].max() - layout.contact_estimate
        last = layout.nip_x - exited[:, 0].min()
        loads = np.array([r.line_load for r in records if r.phase == "rolling"
                          and first <= r.travel <= last])
        if not len(loads):
            return {}
        return {"line_load_exit_zone_N_per_mm": float(loads.mean()),
                "line_load_exit_zone_min_N_per_mm": float(loads.min()),
                "line_load_exit_zone_max_N_per_mm": float(loads.max()),
                "line_load_exit_zone_steps": int(len(loads))}
