"""The flat press's PNG plots: the porosity map of the deformed section and the platen
pressure against thickness."""
from __future__ import annotations

from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem

from .scales import POROSITY_MIN_SPAN, ColourScale

def gather_cell_polygons(problem, values_by_region: dict[str, np.ndarray]):
    """Deformed cell outlines (x, y of the corner nodes) and one value per cell, on rank 0."""
    mesh = problem.mesh
    tdim = mesh.topology.dim
    n_owned = mesh.topology.index_map(tdim).size_local
    V1 = fem.functionspace(mesh, ("Lagrange", 1, (mesh.geometry.dim,)))
    u1 = fem.Function(V1)
    u1.interpolate(problem.u)
    coordinates = V1.tabulate_dof_coordinates()
    displacement = u1.x.array.reshape(-1, mesh.geometry.dim)
    polygons, values = [], []
    for region in problem.regions:
        if region.name not in values_by_region:     # no cell of it on this rank
            continue
        cell_values = values_by_region[region.name]
        for local, cell in enumerate(region.cells):
            if cell >= n_owned:
                continue
            dofs = V1.dofmap.cell_dofs(cell)
            xy = coordinates[dofs, :2] + displacement[dofs, :2]
            if tdim == 2:
                polygons.append(xy[[0, 1, 3, 2]])
            else:
                z = coordinates[dofs, 2]
                face = np.argsort(z)[:4]
                front = xy[face]
                centre = front.mean(axis=0)
                order = np.argsort(np.arctan2(front[:, 1] - centre[1], front[:, 0] - centre[0]))
                if np.allclose(z[face], 0.0):
                    polygons.append(front[order])
                else:
                    continue
            values.append(cell_values[local])
    gathered = mesh.comm.gather((polygons, values), root=0)
    if mesh.comm.rank != 0:
        return None, None
    all_polygons = [p for part in gathered for p in part[0]]
    all_values = [v for part in gathered for v in part[1]]
    return all_polygons, np.array(all_values)


def plot_porosity_field(problem, path: Path, title: str):
    fields = {region.name: problem.cell_average(region, problem.region_fields(region)["porosity"])
              for region in problem.regions if len(region.cells)}
    polygons, values = gather_cell_polygons(problem, fields)
    if problem.mesh.comm.rank != 0:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    corners = np.concatenate(polygons) * 1e3
    width, height = np.ptp(corners, axis=0)
    map_width = 4.8            # inches; the figure follows the shape of the section
    fig, ax = plt.subplots(figsize=(map_width + 2.4,
                                    min(max(map_width * height / width + 1.6, 2.6), 8.0)))
    porous = values > 0.0
    scale = ColourScale(values[porous], min_span=POROSITY_MIN_SPAN)
    dense = PolyCollection([p * 1e3 for p, keep in zip(polygons, porous) if not keep],
                           facecolors="0.6", edgecolors="face", linewidths=0.2)
    ax.add_collection(dense)   # dense layers (foils) in grey: porosity 0
    collection = PolyCollection([p * 1e3 for p, keep in zip(polygons, porous) if keep],
                                array=values[porous], cmap="viridis", edgecolors="face",
                                linewidths=0.2)
    ax.add_collection(collection)
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)" + ("   (grey: dense layer, porosity 0)" if not porous.all() else ""))
    ax.set_ylabel("y (µm)")
    face = " (front face z = 0)" if problem.mesh.topology.dim == 3 else ""
    ax.set_title(f"{title}{face}\n{scale.describe('porosity', '-')}", fontsize=10)
    if porous.any():
        scale.colourbar(fig, ax, collection, "porosity (-)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_pressure_thickness(records, path: Path, layer: str, initial_thickness: float):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    phases = {}
    last = (initial_thickness * 1e3, 0.0)
    for r in records:   # each phase starts where the previous one ended
        h, p = phases.setdefault(r.phase, ([last[0]], [last[1]]))
        h.append(r.top_thickness * 1e3)
        p.append(r.pressure)
        last = (h[-1], p[-1])
    for phase, (h, p) in phases.items():
        ax.plot(h, p, "o-", ms=3, label=phase)
    ax.set_xlabel(f"{layer} thickness (µm)")
    ax.set_ylabel("platen pressure (MPa)")
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("platen pressure against thickness")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
