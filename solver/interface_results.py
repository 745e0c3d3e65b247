"""What an interface reports: the fields at its points, the interface point cloud's displacement,
the statistics of a band (contact fraction, pressures, gaps, damage), its profile along the
interface and the band-cell averages. Mixed into ``interfaces.InterfaceTerm``.

Areas: each point carries the interface area |det J| w / H times its quadrature weight (the
iso-eta surface measure, ``nipstack.interfaces``); sums and maxima run over the points of the
cells this rank owns and are reduced over the ranks.
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
from dolfinx import fem
from mpi4py import MPI

#: interface output fields (per point): name -> unit
FIELDS = {"gap_normal": "mm", "gap_tangential": "mm", "normal_traction": "MPa",
          "pressure": "MPa", "damage": "-", "contact": "-"}


class InterfaceResults:
    """The results methods of ``InterfaceTerm`` (uses its bands, comm, gdim, mesh, problem,
    points and gap_tolerance)."""

    def contact_mask(self, band) -> np.ndarray:
        """Points in contact: t_n < 0, and g_n <= gap_tolerance if there is one."""
        mask = band.traction[:, 0] < 0.0
        if self.gap_tolerance is not None:
            mask &= band.jump[:, 0] <= self.gap_tolerance
        return mask

    def point_fields(self, name: str) -> dict[str, np.ndarray]:
        """Per-point fields of a band at the last update (this rank's points)."""
        band = self.bands[name]
        m = band.jump.shape[1]
        t_n = band.traction[:, 0]
        fields = {
            "gap_normal": band.jump[:, 0].copy(),
            "gap_tangential": np.sqrt(np.sum(band.jump[:, 1:m] ** 2, axis=1)),
            "normal_traction": t_n.copy(),
            "pressure": -t_n,
            "damage": np.asarray(band.trial.get("damage", np.zeros_like(t_n)), dtype=float),
            "contact": self.contact_mask(band).astype(float),
        }
        return fields

    def point_displacement(self, name: str) -> np.ndarray:
        """Displacement u (mm) at the band's points (this rank's cells*points, gdim): what
        moves the reference point cloud of the interface datasets onto the deformed mesh."""
        band = self.bands[name]
        if self._displacement_expression is None:
            self._displacement_expression = fem.Expression(self.problem.u, self.points)
        if not len(band.cells):
            return np.zeros((0, self.gdim))
        return self._displacement_expression.eval(self.mesh, band.cells).reshape(-1, self.gdim)

    def statistics(self, name: str) -> dict[str, float]:
        """Contact fraction (area in contact / interface area, summed over ranks), max and mean
        interfacial pressure (over the interface and over the contact area), max gap, max
        penetration, max damage. Collective."""
        band = self.bands[name]
        comm = self.comm
        fields = self.point_fields(name)
        own = band.owned
        area = band.area[own]
        contact = fields["contact"][own]
        pressure = fields["pressure"][own]
        sums = comm.allreduce(np.array([area.sum(), (area * contact).sum(),
                                        (area * pressure).sum(),
                                        (area * pressure * contact).sum()]), op=MPI.SUM)
        total, in_contact, force, contact_force = sums

        def global_max(values):
            return comm.allreduce(float(np.max(values, initial=-np.inf)), op=MPI.MAX)

        fraction = in_contact / total if total > 0 else 0.0
        return {
            "area": total,
            "contact_fraction": fraction,
            "max_pressure": global_max(pressure),
            "mean_pressure": force / total if total > 0 else 0.0,
            "mean_contact_pressure": contact_force / in_contact if in_contact > 0 else 0.0,
            "max_gap": global_max(fields["gap_normal"][own]),
            "max_penetration": max(global_max(-fields["gap_normal"][own]), 0.0),
            "max_damage": global_max(fields["damage"][own]),
            "min_pressure": -global_max(-pressure),
        }

    def profile(self, name: str):
        """Rows along the interface on rank 0 (None elsewhere): coordinates of the interface
        point (x[, z]) and the fields averaged over the points of a column (same X)."""
        band = self.bands[name]
        fields = self.point_fields(name)
        own = band.owned
        keys = list(FIELDS)
        gdim = self.gdim
        local = np.column_stack([band.coordinates[own]] + [band.area[own]]
                                + [fields[k][own] for k in keys]) if own.any() else \
            np.zeros((0, gdim + 1 + len(keys)))
        gathered = self.comm.gather(local, root=0)
        if self.comm.rank != 0:
            return None
        data = np.vstack(gathered)
        columns = [0] if gdim == 2 else [0, 2]
        scale = max(np.max(np.abs(data[:, columns])), 1e-300) if len(data) else 1.0
        keys_xz = np.round(data[:, columns] / scale, 10)
        unique, inverse = np.unique(keys_xz, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        rows = []
        for k in range(len(unique)):
            members = data[inverse == k]
            weight = members[:, gdim]
            total = weight.sum()
            row = [members[0, c] for c in columns] + [total]
            row += list((members[:, gdim + 1:] * weight[:, None]).sum(axis=0) / total)
            rows.append(row)
        header = ["x_mm"] + (["z_mm"] if gdim == 3 else []) + ["area_weight"] + \
            [f"{k}_{FIELDS[k]}" if FIELDS[k] != "-" else k for k in keys]
        return header, np.array(rows)

    def cell_fields(self, name: str) -> dict[str, np.ndarray]:
        """Area-weighted cell averages (cells of the band on this rank)."""
        band = self.bands[name]
        fields = self.point_fields(name)
        n_cells = len(band.cells)
        area = band.area.reshape(n_cells, -1)
        total = area.sum(axis=1)
        return {k: (v.reshape(n_cells, -1) * area).sum(axis=1) / total
                for k, v in fields.items()}
