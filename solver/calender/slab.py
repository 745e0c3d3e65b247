"""The calender in 3D: a slab of the web through its width (`geometry.dimension = 3`,
meshes/nip_slab.py) with the coating's tapered edge and the bare foil margin.

The rolls are the 2D rolls extended along z (their axis); u_z = 0 on the lane's centre plane
(face `front`) and, with `geometry.outer_face = "symmetry"`, on the outer face. The run's
summary is that of the lane's centre section (z = 0, `profile.NipProfiles`), so a slab of a
uniform web in plane strain gives the 2D nip's numbers; what varies across the width is
reported by `cross_web_profile`: for every column of nodes through the width (reference z),
in the exit zone, the web and coating thickness, the coating's exit porosity, the
machine-direction elongation of the foil's free face, the lateral displacement of the top
face and the foil's machine-direction Cauchy stress.
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem

from ..meshes.layered import Layer, build_layered_strip
from ..meshes.nip_slab import WidthZones, build_nip_slab
from ..meshes.partition import law_costs


def width_zones(geometry) -> WidthZones:
    return WidthZones(geometry.lane_width, geometry.elements_lane, geometry.edge_width,
                      geometry.elements_edge, geometry.edge_thickness, geometry.margin_width,
                      geometry.elements_margin, geometry.edge_crest,
                      geometry.edge_end_thickness)


def edge_layers(case, configuration: str) -> set[str]:
    """The layers that end at the coating's edge: the roll-side coating, and on a
    double-sided web the bottom coating too (none for a single free-standing film)."""
    layers = case.layers
    if len(layers) == 1:
        return set()
    names = {layers[-1].name}
    if configuration == "double_sided":
        names.add(layers[0].name)
    return names


def heavy_edge_heights(case, configuration: str) -> tuple[float, float]:
    """How far a heavy edge or bead (its thickest point, `geometry.edge_thickness` or
    `edge_end_thickness`, above 1) stands out of the web's nominal faces, (below the bottom
    face, above the top face), mm; (0, 0) in 2D or for a thinning edge. The rolls first touch
    the web there."""
    geometry = case.geometry
    zones = width_zones(geometry)
    rise = max(zones.edge_thickness, zones.end_thickness) - 1.0
    if geometry.dimension == 2 or geometry.edge_width <= 0.0 or rise <= 0.0:
        return 0.0, 0.0
    names = edge_layers(case, configuration)
    above = rise * case.layers[-1].thickness if case.layers[-1].name in names else 0.0
    below = rise * case.layers[0].thickness if (len(case.layers) > 1
                                                 and case.layers[0].name in names) else 0.0
    return below, above


def build_web_mesh(case, layout, laws, comm):
    """The web's mesh: the 2D strip, or in 3D the slab (see the module)."""
    layers = [Layer(layer.name, layer.thickness, layer.elements) for layer in case.layers]
    if case.geometry.dimension == 2:
        return build_layered_strip(layers, 0.0, 0, comm=comm, segments=layout.segments,
                                   costs=law_costs(laws))
    return build_nip_slab(layers, layout.segments, width_zones(case.geometry),
                          edge_layers(case, layout.configuration), comm=comm,
                          costs=law_costs(laws))


def symmetry_conditions(problem, geometry) -> list:
    """u_z = 0 on the lane's centre plane (and the outer face, if it is a symmetry plane)."""
    if geometry.dimension == 2:
        return []
    faces = ["front"] + (["back"] if geometry.outer_face == "symmetry" else [])
    V = problem.V
    conditions = []
    for face in faces:
        dofs = fem.locate_dofs_topological(V.sub(2), 2, problem.boundary_facets(face))
        conditions.append(fem.dirichletbc(np.float64(0.0), dofs, V.sub(2)))
    return conditions


def slab_width(geometry) -> float:
    """The width the roll integrals are divided by: the slab's in 3D, 1 in 2D."""
    return width_zones(geometry).total if geometry.dimension == 3 else 1.0


def cross_web_profile(calender) -> dict | None:
    """Across the width in the exit zone (see the module): {column name: array over the node
    columns' reference z}, or None before any material has left the nip. Collective."""
    profiles, zones = calender.profiles, width_zones(calender.case.geometry)
    top, bottom = profiles.face_nodes("top"), profiles.face_nodes("bottom")
    coating = profiles.cells_3d()
    edge = edge_layers(calender.case, calender.layout.configuration)
    base = next((layer for layer in calender.case.layers if layer.name not in edge),
                calender.case.layers[0])
    foil = profiles.cells_3d(base, stress=True)
    exited = profiles.exit_mask(bottom[:, 0], bottom[:, 3])
    if not exited.any():
        return None
    X_range = bottom[exited, 0].min(), bottom[exited, 0].max()
    scale = 1e-6 * zones.total
    rows = {key: [] for key in ("z_mm", "web_thickness_mm", "exit_porosity", "elongation",
                                "lateral_displacement_mm", "foil_stress_xx_MPa")}
    for level in np.unique(np.round(bottom[:, 2] / scale)):
        z = float(bottom[np.round(bottom[:, 2] / scale) == level, 2].mean())
        on_top = _in_range(top, X_range) & (np.round(top[:, 2] / scale) == level)
        # (at the coating's end the column holds the coating's top edge and the bare foil's
        # first nodes: the web's top is the highest)
        on_top &= top[:, 1] >= top[on_top, 1].max() - 1e-9 * zones.total
        on_bottom = _in_range(bottom, X_range) & (np.round(bottom[:, 2] / scale) == level)
        first, last = _ends(bottom[on_bottom])
        rows["z_mm"].append(z)
        rows["web_thickness_mm"].append(top[on_top, 4].mean() - bottom[on_bottom, 4].mean())
        rows["elongation"].append((last[3] - first[3]) / (last[0] - first[0]))
        rows["lateral_displacement_mm"].append(np.mean(top[on_top, 5] - top[on_top, 2]))
        coated = z <= zones.coated + 1e-9 * zones.total
        rows["exit_porosity"].append(_column_mean(coating, z, zones, X_range, 6)
                                     if coated else np.nan)
        rows["foil_stress_xx_MPa"].append(_column_mean(foil, z, zones, X_range, 9))
    profile = {key: np.asarray(value, dtype=float) for key, value in rows.items()}
    bare = sum(layer.thickness for layer in calender.case.layers if layer.name not in edge)
    profile["coating_thickness_mm"] = profile["web_thickness_mm"] - bare
    return profile


def _in_range(nodes, X_range):
    return (nodes[:, 0] >= X_range[0] - 1e-12) & (nodes[:, 0] <= X_range[1] + 1e-12)


def _ends(nodes):
    order = np.argsort(nodes[:, 0])
    return nodes[order[0]], nodes[order[-1]]


def _near(cells_z, z, zones: WidthZones):
    """The cells whose width spans the node column at z (a column on a cell boundary has
    the cells of both sides)."""
    sizes = [(zones.lane, zones.lane / zones.elements_lane)]
    if zones.edge > 0:
        sizes.append((zones.coated, zones.edge / zones.elements_edge))
    if zones.margin > 0:
        sizes.append((zones.total, zones.margin / zones.elements_margin))
    width = np.select([cells_z <= end for end, _ in sizes], [size for _, size in sizes])
    return np.abs(cells_z - z) <= 0.5 * width * (1.0 + 1e-6)


def _column_mean(cells, z, zones, X_range, column):
    """Mean of `column` over the cells beside the node column at z in the exit zone (for
    the porosity, weighted by the cells' volume ratio J: 1 - solid volume / volume)."""
    chosen = _near(cells[:, 2], z, zones) & (cells[:, 0] >= X_range[0]) & \
        (cells[:, 0] <= X_range[1])
    if not chosen.any():
        return np.nan
    weights = cells[chosen, 7] if column == 6 else np.ones(chosen.sum())
    return float(np.sum(weights * cells[chosen, column]) / np.sum(weights))


def cross_web_numbers(profile, zones: WidthZones) -> dict:
    """Lane centre against the coating's edge and the margin, from `cross_web_profile`."""
    z = profile["z_mm"]
    centre = 0
    coated = z <= zones.coated + 1e-9 * zones.total
    out = {"slab_width_mm": zones.total, "cross_web_columns": int(len(z)),
           "exit_porosity_lane_centre": float(profile["exit_porosity"][centre]),
           "web_thickness_lane_centre_mm": float(profile["web_thickness_mm"][centre]),
           "elongation_lane_centre": float(profile["elongation"][centre])}
    lane = z < zones.lane - 1e-9 * zones.total      # (the lane's last column touches the edge)
    porosity = profile["exit_porosity"][coated]
    out["exit_porosity_lane_spread_pp"] = float(100 * np.ptp(profile["exit_porosity"][lane]))
    out["exit_porosity_coated_min"] = float(np.nanmin(porosity))
    out["exit_porosity_coated_max"] = float(np.nanmax(porosity))
    out["exit_porosity_at_coating_edge"] = float(porosity[-1])
    out["coating_edge_spread_mm"] = float(      # (sideways, +z, of the coating's edge)
        profile["lateral_displacement_mm"][coated][-1])
    out["top_face_spread_max_mm"] = float(np.nanmax(profile["lateral_displacement_mm"]))
    out["elongation_outer_face"] = float(profile["elongation"][-1])
    out["elongation_mismatch"] = float(profile["elongation"][centre]
                                       - profile["elongation"][-1])
    stress = profile["foil_stress_xx_MPa"]
    out["foil_stress_xx_lane_centre_MPa"] = float(stress[centre])
    out["foil_stress_xx_outer_face_MPa"] = float(stress[-1])
    out["foil_stress_xx_min_MPa"] = float(np.nanmin(stress))
    out["foil_stress_xx_max_MPa"] = float(np.nanmax(stress))
    return out
