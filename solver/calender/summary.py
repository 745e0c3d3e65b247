"""The summary numbers of a calender run (summary.json) and its closing line.

- run: configuration, rolls, last step's gap, line loads, torques, contact length, dwell time
  (contact length / V), the line load the exit zone was rolled under;
- exit zone: exit porosity (mean over the exited columns, its spread, the through-thickness
  profile, `roll_side_densification`, per porous layer), exit thickness (of the roll-side
  coating, and per porous layer between its own faces), machine-direction
  elongation lambda and the mass balance h0 (1 - e0) = h (1 - e) lambda; Bruggeman tortuosity
  e^-alpha and effective transport e^(1 + alpha), through-plane and in-plane;
- nip: peak pressure, penetration, contact entry/exit, the conductance ratio
  (p / p_ref)^(1/3), the line load as the integral of p over the arc, the neutral point,
  the friction mobilised, shear / pressure, thickness and porosity under the roll;
- interfaces (a laminated web): `lamination_summary.interface_summary`;
- a 3D slab: the numbers above are the lane's centre section; across the width
  `slab.cross_web_numbers` (lane centre against the coating's edge and the margin).
"""
from __future__ import annotations

import numpy as np

from .lamination_summary import interface_summary
from .slab import cross_web_numbers, cross_web_profile, slab_width, width_zones

#: per-interface summary entries copied to the top level as <interface>_<key> (sweep tables)
FLAT_INTERFACE_KEYS = ("void_closure_in_nip", "void_closure_exit",
                       "contact_fraction_exit", "contact_fraction_exit_min",
                       "contact_fraction_exit_spread_pp", "contact_fraction_reached_in_nip",
                       "contact_fraction_under_roll_max", "max_void_height_exit_mm",
                       "max_penetration_mm", "max_pressure_MPa")


def roll_side_densification(through, free_standing: bool) -> float:
    """Porosity of the coating's inner layer minus that of its roll-side surface layer, in
    percentage points (> 0: the roll side leaves denser, as Etiemble et al. 2017 measured on
    LFP: 33.8 % at the surface against 37 % in the bulk). `through` is the exit porosity per
    element row, from the foil side (or the film's lower face) up to the roll side. A foil-backed
    coating compares its roll-side row with the row on the foil; a free-standing film touches a
    roll with both faces, so it compares the mean of its two surface rows with its mid-plane
    (the central row, or the mean of the two central rows)."""
    through = np.asarray(through, dtype=float)
    if not free_standing:
        return float(100.0 * (through[0] - through[-1]))
    n = len(through)
    middle = through[(n - 1) // 2: n // 2 + 1].mean()
    return float(100.0 * (middle - 0.5 * (through[0] + through[-1])))


def coating_base(calender) -> str:
    """Facet group of the roll-side coating's bottom face (its band's top face when the level
    below it is a band interface)."""
    layers = calender.case.layers
    if len(layers) == 1:
        return "bottom"
    name = f"interface_{layers[-2].name}_{layers[-1].name}"
    return f"{name}_top" if name in calender.interface_laws else name


def layer_faces(calender, index: int) -> tuple[str, str]:
    """Facet groups of layer `index`'s lower and upper faces (a band interface's own face on
    the layer's side: `<band>_top` below the layer, `<band>_bottom` above it)."""
    layers = calender.case.layers

    def between(lower, upper, face):
        name = f"interface_{layers[lower].name}_{layers[upper].name}"
        return f"{name}_{face}" if name in calender.interface_laws else name
    low = "bottom" if index == 0 else between(index - 1, index, "top")
    high = "top" if index == len(layers) - 1 else between(index, index + 1, "bottom")
    return low, high


def calender_summary(calender) -> dict:
    """summary.json of the run (see the module). Collective."""
    cells = calender.profiles.cells()
    out = run_numbers(calender)
    out.update(calender.profiles.exit_zone_loads(calender.records))
    profile = calender.profiles.exit_profile(cells)
    if profile is not None:
        out.update(exit_zone_numbers(calender, cells, profile, out["initial_porosity"]))
    out.update(nip_numbers(calender, cells))
    if calender.case.geometry.dimension == 3:
        cross_web = cross_web_profile(calender)
        if cross_web is not None:
            out.update(cross_web_numbers(cross_web, width_zones(calender.case.geometry)))
    lamination = calender.lamination
    if lamination is not None:
        out["contact_length_estimate_mm"] = calender.layout.contact_estimate
        out["augmented_lagrangian_updates"] = lamination.al_updates
        out["interface_regularisation_traction_max_MPa"] = \
            lamination.regularisation_traction_max
        out["interfaces"] = interfaces = interface_summary(lamination, calender.profiles,
                                                           calender.records)
        # flat copies of the main numbers (sweep tables take top-level numbers only)
        for name, entry in interfaces.items():
            for key in FLAT_INTERFACE_KEYS:
                if entry.get(key) is not None:
                    out[f"{name}_{key}"] = entry[key]
    return out


def run_numbers(calender) -> dict:
    spec, final, records = calender.spec, calender.records[-1], calender.records
    return {"case": calender.case.case.name, "configuration": calender.layout.configuration,
            "control": spec.control, "roll_radius_mm": spec.roll_radius,
            "line_speed_mm_per_s": spec.line_speed, "friction": spec.friction,
            "initial_thickness_mm": calender.thickness,
            "initial_porosity": calender.laws[calender.layout.coating.name].initial_porosity,
            "gap_mm": final.gap, "line_load_N_per_mm": final.line_load,
            "line_load_bottom_N_per_mm": final.line_load_bottom,
            "roll_torque_Nmm_per_mm": final.torque,
            "roll_torque_bottom_Nmm_per_mm": calender.nip.converged_torques[1],
            "web_drive": spec.web_drive,
            "contact_length_mm": final.contact_length,
            "dwell_time_s": final.contact_length / spec.line_speed,
            "steps": len(records), "mpi_ranks": calender.comm.size,
            "wall_time_s": getattr(calender, "wall_time", None),
            "newton_iterations_max": max(r.newton_iterations for r in records),
            "foundation_force_N_per_mm": calender.supports.foundation_force(calender.comm)
            / slab_width(calender.case.geometry)}


def exit_zone_numbers(calender, cells, profile, porosity0) -> dict:
    column_x, column_porosity, exited = profile
    coating, profiles = calender.layout.coating, calender.profiles
    out = {"exit_porosity": float(column_porosity.mean()),
           "exit_porosity_spread_pp": float(100 * np.ptp(column_porosity)),
           "exit_zone_length_mm": float(np.ptp(column_x)),
           "steady_state_step": calender.steady_state_step}
    # through-thickness profile of the exit zone (by reference height)
    Y = cells[exited, 1]
    levels = np.round((Y - Y.min()) / (coating.thickness / coating.elements)).astype(int)
    out["exit_porosity_through_thickness"] = through = [
        float(np.mean(cells[exited, 4][levels == k])) for k in np.unique(levels)]
    out["roll_side_densification_pp"] = roll_side_densification(
        through, calender.layout.configuration == "free_standing")
    out["exit_porosity_by_layer"], out["exit_thickness_by_layer"] = {}, {}
    X_range = (column_x.min(), column_x.max())
    for index, layer in enumerate(calender.case.layers):
        if calender.laws[layer.name].initial_porosity > 0:
            layer_profile = profiles.exit_profile(profiles.cells(layer))
            if layer_profile is not None:
                out["exit_porosity_by_layer"][layer.name] = float(layer_profile[1].mean())
                out["exit_thickness_by_layer"][layer.name] = profiles.exit_thickness(
                    X_range, *layer_faces(calender, index))
    thickness, elongation = profiles.exit_geometry(X_range, coating_base(calender))
    h0 = coating.thickness
    out["exit_thickness_mm"] = thickness
    out["machine_direction_elongation"] = elongation
    out["exit_mass_balance_error"] = (h0 * (1 - porosity0) - thickness * (
        1 - out["exit_porosity"]) * elongation) / (h0 * (1 - porosity0))
    porosity = out["exit_porosity"]
    alpha_tp = calender.spec.tortuosity_exponent_through_plane
    alpha_ip = calender.spec.tortuosity_exponent_in_plane
    if porosity > 0:      # (a dense roll-side layer, e.g. lithium foil, has none)
        out["tortuosity_through_plane"] = porosity ** -alpha_tp
        out["tortuosity_in_plane"] = porosity ** -alpha_ip
        out["effective_transport_through_plane"] = porosity ** (1 + alpha_tp)
        out["effective_transport_in_plane"] = porosity ** (1 + alpha_ip)
    return out


def nip_numbers(calender, cells) -> dict:
    """The top roll's contact (empty out of contact)."""
    spec, surface = calender.spec, calender.profiles.surface_profile()
    in_contact = surface[:, 6] > 0
    if not in_contact.any():
        return {}
    out = {"peak_nip_pressure_MPa": float(surface[:, 2].max()),
           "max_penetration_mm": float(surface[:, 6].max())}
    contact_x = surface[in_contact, 0]
    out["contact_entry_x_mm"] = float(contact_x.min())   # from the roll centre line
    out["contact_exit_x_mm"] = float(contact_x.max())
    out["electronic_conductance_ratio"] = (out["peak_nip_pressure_MPa"]
                                           / spec.reference_pressure) ** (1 / 3)
    out["nip_pressure_integral_N_per_mm"] = calender.nip.pressure_integrals()[0]
    contact = surface[in_contact]
    out.update(friction_numbers(contact, spec.friction))
    out["line_load_from_nodal_profile_N_per_mm"] = float(np.trapezoid(
        surface[:, 2] * -surface[:, 4], surface[:, 0]))
    out.update(under_roll_numbers(calender, cells))
    return out


def friction_numbers(contact, friction) -> dict:
    """On the contact arc (`contact`: surface profile rows in contact): the neutral point,
    where the shear on the coating turns from driving (entry) to braking (exit); the friction
    mobilised, max |t_t| / (mu p); shear / pressure on the arc (where p >= 10 % of the peak)
    and at the peak: roll friction can only densify the roll side through shear-enhanced
    compaction on the cap, which grows as (t/p)^2, and the cap pressure is set at the peak."""
    out = {}
    forward = contact[:, 5] > 0
    turns = np.nonzero(forward[:-1] & ~forward[1:])[0]
    if len(turns):
        k = turns[0]
        x0, x1, t0, t1 = contact[k, 0], contact[k + 1, 0], contact[k, 5], contact[k + 1, 5]
        out["neutral_point_x_mm"] = float(x0 + (x1 - x0) * t0 / (t0 - t1))
    else:
        out["neutral_point_x_mm"] = None
    if friction > 0:
        out["friction_mobilised_max"] = float(np.max(
            np.abs(contact[:, 5]) / (friction * contact[:, 2])))
    out["shear_traction_max_MPa"] = float(np.max(np.abs(contact[:, 5])))
    peak = int(np.argmax(contact[:, 2]))
    loaded = contact[:, 2] >= 0.1 * contact[peak, 2]
    out["peak_nip_pressure_x_mm"] = float(contact[peak, 0])
    out["shear_to_pressure_at_peak"] = float(contact[peak, 5] / contact[peak, 2])
    out["shear_to_pressure_max"] = float(np.max(
        np.abs(contact[loaded, 5]) / contact[loaded, 2]))
    return out


def under_roll_numbers(calender, cells) -> dict:
    """Thickness and porosity of the roll-side coating in the column nearest to the roll
    centre line."""
    profiles, layout = calender.profiles, calender.layout
    top = profiles.boundary_nodes("top")
    base = profiles.boundary_nodes(coating_base(calender))
    half = 0.5 * layout.element_length
    near = np.abs(top[:, 2] - layout.nip_x) <= half
    near_base = np.abs(base[:, 2] - layout.nip_x) <= half
    under = np.abs(cells[:, 2] - layout.nip_x) <= half
    return {"thickness_under_roll_mm": float(top[near, 3].mean() - base[near_base, 3].mean()),
            "porosity_under_roll": float(np.sum(cells[under, 5] * cells[under, 4])
                                         / np.sum(cells[under, 5]))}


def describe(summary) -> str:
    """The run's closing line."""
    exit_porosity = summary.get("exit_porosity", float("nan"))
    porosity = f"exit porosity {exit_porosity:.4f}, " \
        if summary.get("initial_porosity", 1.0) > 0 else ""
    text = (f"done in {summary['wall_time_s']:.1f} s: {porosity}"
            f"line load {summary['line_load_N_per_mm']:.2f} N/mm, gap "
            f"{summary['gap_mm'] * 1e3:.2f} um, contact {summary['contact_length_mm']:.3f} mm")
    for name, entry in summary.get("interfaces", {}).items():
        fraction = entry.get("contact_fraction_exit")
        if fraction is not None:
            reached = entry["contact_fraction_reached_in_nip"]
            closure = entry.get("void_closure_in_nip")
            text += (f"; {name[10:]}: "
                     + (f"void closure in the nip {closure:.4f}, " if closure is not None
                        else "")
                     + f"closed in the nip {reached:.4f}"
                     f", after springback {fraction:.4f}, largest void "
                     f"{entry['max_void_height_exit_mm'] * 1e3:.3f} um")
    return text
