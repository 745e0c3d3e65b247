"""summary.json of a calender_width run: the numbers across the web that matter."""
from __future__ import annotations

import numpy as np

from ..case.load import bottom_porosity_offset
from .crown import rms_spread


def _roll(model, index, forces, deflection) -> dict:
    roll = model.rolls[index]
    geometry = roll.geometry
    x, w = deflection
    body, journal = geometry.body(), geometry.journal()
    return {"diameter_mm": geometry.diameter, "face_length_mm": geometry.face_length,
            "bearing_positions_mm": list(geometry.bearing_positions),
            "body_EI_N_mm2": body.EI, "body_kGA_N": body.kGA, "journal_EI_N_mm2": journal.EI,
            "bending_force_N": geometry.bending_force,
            "bearing_forces_N": [float(f) for f in forces],
            "deflection_max_mm": float(np.max(w)),
            "deflection_face_centre_mm": float(np.interp(0.0, x, w)),
            "crown_radius_at_lane_centre_mm": float(geometry.crown(np.array(
                [model.web.x[len(model.web.x) // 2]]))[0])}


def face_numbers(prefix: str, x, thickness, porosity, middle: int, edges: list) -> dict:
    """One coated face across the lane: its exit thickness (mean, least, greatest) and exit
    porosity (mean, lane centre, lane edges, spread, RMS spread), keys led by `prefix`."""
    lane_width = float(np.ptp(x))
    return {f"{prefix}exit_thickness_mean_mm": float(np.trapezoid(thickness, x) / lane_width),
            f"{prefix}exit_thickness_min_mm": float(thickness.min()),
            f"{prefix}exit_thickness_max_mm": float(thickness.max()),
            f"{prefix}exit_porosity_mean": float(np.trapezoid(porosity, x) / lane_width),
            f"{prefix}exit_porosity_lane_centre": float(porosity[middle]),
            f"{prefix}exit_porosity_lane_edges": [float(porosity[i]) for i in edges],
            f"{prefix}exit_porosity_spread_pp": float(100 * np.ptp(porosity)),
            f"{prefix}exit_porosity_rms_spread": rms_spread(x, porosity)}


def bottom_coating_numbers(scenario, middle, edges) -> dict:
    """A double-sided web: its coating under the foil across the lane, and the whole web (the
    foil counted at its entry thickness)."""
    entry = scenario.web
    values, x = scenario.solution.values, entry.x
    thickness = values["bottom_exit_thickness_mm"]
    web = entry.foil_thickness + values["exit_thickness_mm"] + thickness
    shared = {} if "porosity" in entry.bottom_own else {   # the top's profile, shifted
        "bottom_entry_porosity_offset": bottom_porosity_offset(scenario.case)}
    return {"double_sided": True, "bottom_coating": scenario.bottom_coating.name,
            "bottom_own_profiles": list(entry.bottom_own), **shared,
            "bottom_entry_thickness_min_mm": float(entry.bottom_thickness.min()),
            "bottom_entry_thickness_max_mm": float(entry.bottom_thickness.max()),
            "bottom_entry_porosity_min": float(entry.bottom_porosity.min()),
            "bottom_entry_porosity_max": float(entry.bottom_porosity.max()),
            **face_numbers("bottom_", x, thickness, values["bottom_exit_porosity"], middle,
                           edges),
            "exit_web_thickness_mean_mm": float(np.trapezoid(web, x) / np.ptp(x)),
            "exit_web_thickness_min_mm": float(web.min()),
            "exit_web_thickness_max_mm": float(web.max())}


def width_summary(scenario) -> dict:
    model, solution, web = scenario.model, scenario.solution, scenario.web
    values, q, gap = solution.values, solution.q, solution.gap
    porosity = values["exit_porosity"]
    middle = len(web.x) // 2
    edges = [0, len(web.x) - 1]
    lane_width = float(np.ptp(web.x))
    forces = model.bearing_forces(solution)
    deflections = model.deflections(solution)
    membrane = scenario.membrane
    foil = np.concatenate([s["foil_stress"] for s in membrane["strips"]])
    zones = membrane["zones"]
    out = {
        "case": scenario.case.case.name, "kind": "calender_width",
        "control": scenario.case.calender.control,
        "coated_width_mm": lane_width, "cross_sections": len(web.x),
        "web_width_mm": float(web.right_edge - web.left_edge),
        "total_load_N": solution.total_load,
        "line_load_mean_N_per_mm": solution.total_load / lane_width,
        "line_load_min_N_per_mm": float(q.min()), "line_load_max_N_per_mm": float(q.max()),
        "line_load_lane_centre_N_per_mm": float(q[middle]),
        "line_load_lane_edges_N_per_mm": [float(q[i]) for i in edges],
        "nominal_gap_mm": solution.g0,
        "gap_lane_centre_mm": float(gap[middle]),
        "gap_lane_edges_mm": [float(gap[i]) for i in edges],
        "gap_min_mm": float(gap.min()), "gap_max_mm": float(gap.max()),
        "gap_opening_mm": float(gap[middle] - 0.5 * (gap[0] + gap[-1])),
        **face_numbers("", web.x, values["exit_thickness_mm"], porosity, middle, edges),
        "machine_direction_elongation_lane_mean": float(np.trapezoid(
            values["machine_direction_elongation"], web.x) / lane_width),
        "machine_direction_elongation_margins": 1.0,
        "web_strain_held_straight": membrane["strain"],
        "camber_curvature_if_free_per_mm": membrane["camber_curvature_per_mm"],
        "foil_stress_min_MPa": float(foil.min()), "foil_stress_max_MPa": float(foil.max()),
        "foil_stress_lane_centre_MPa": float(
            membrane["strips"][scenario.strip_names.index("lane")]["foil_stress"][middle]),
        "compressed_zones": zones,
        "wrinkling": any(zone["wrinkles"] for zone in zones),
        "wrinkling_criterion": "N < -N_cr, N_cr = k pi^2 D / b^2 (sigma_cr = k pi^2 E / (12 (1 "
                               "- nu^2)) (t/b)^2 for one layer); k = 4 (both unloaded edges "
                               "simply supported), 0.425 (one free edge): Timoshenko & Gere, "
                               "Theory of Elastic Stability, 2nd ed. 1961, sect. 9.2-9.3",
        "top_roll": _roll(model, 0, forces[0], deflections[0]),
        "bottom_roll": _roll(model, 1, forces[1], deflections[1]),
        "newton_iterations": solution.iterations,
        "response_table": {
            "reductions_mm": scenario.response.reductions.tolist(),
            **{f"{name}_mm" if "thick" in name else name: axis.tolist()
               for name, axis in scenario.response.axes.items()},
            "runs": scenario.response.runs,
            "line_load_N_per_mm": scenario.response.values["line_load_N_per_mm"].tolist()},
        "wall_time_s": getattr(scenario, "wall_time", None), "mpi_ranks": scenario.comm.size,
    }
    if scenario.bottom_coating is not None:
        out.update(bottom_coating_numbers(scenario, middle, edges))
    if foil.max() > 0 and scenario.foil is not None:
        yield_stress = getattr(scenario.laws[scenario.foil.name], "yield_stress", None)
        if yield_stress is not None:
            out["foil_yields"] = bool(np.max(np.abs(foil)) > yield_stress)
    if scenario.crown_result is not None:
        out["crown_optimum"] = {k: v for k, v in scenario.crown_result.items()
                                if k != "solution"}
    return out
