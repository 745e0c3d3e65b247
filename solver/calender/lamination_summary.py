"""What a laminated web's interfaces report at the end of a run: per interface the exit-zone void
closure and its uniformity along the web, the contact under the roll, penetration and pressure
maxima (`interface_summary`), and the profile of the band along the web (`interface_profile`).
The exit zone is the calender's (`NipProfiles.exit_mask`).
"""
from __future__ import annotations

import numpy as np


def window_length(case, name, element_length):
    """(length, crest offset) of the windows the exit-zone uniformity of interface `name` is
    measured over: one wavelength of a sinusoidal roughness, from crest to crest (the offset:
    crests at X = k wavelength - offset), 5 correlation lengths of a random one, else 4
    elements (offset None: from the start of the exit zone)."""
    spec = next(s for s in case.interfaces if f"interface_{s.lower}_{s.upper}" == name)
    rough = spec.roughness
    if rough is not None and rough.kind == "sinusoid":
        return float(rough.wavelength), float(rough.phase) * rough.wavelength / (2 * np.pi)
    if rough is not None:
        return 5.0 * float(rough.correlation_length), None
    return 4.0 * element_length, None


def window_fractions(X, area, closed, window, phase):
    """Closed fraction of each whole window along the web (windows from crest to crest of a
    sinusoid: the first crest at X = -phase; phase None: from the smallest X)."""
    start = X.min() if phase is None else \
        -phase + window * np.ceil((X.min() + phase) / window - 1e-9)
    index = np.floor((X - start) / window).astype(int)
    index[X < start] = -1
    complete = (index >= 0) & \
        (index < int(np.floor((X.max() - start) / window + 1e-9)))   # whole windows only
    return [np.sum(area[(index == k)] * closed[index == k]) / np.sum(area[index == k])
            for k in np.unique(index[complete])]


def exit_statistics(lamination, profiles, name):
    """The interface over the exit zone at the current state (collective): closed fraction
    (void closure), its spread over windows of one roughness wavelength along the web, the
    largest and mean remaining gap, the fraction that closed at some time in the pass, the
    tangential jump (sliding of the faces, small-sliding check). None with no exit zone."""
    state = lamination.band_state(name)
    exited = profiles.exit_mask(state["X"], state["x"])
    columns = ("X", "area", "gap", "slip", "closed", "reached", "contact", "void0",
               "void_min")
    local = np.column_stack([state[key][exited].astype(float) for key in columns]) \
        if exited.any() else np.zeros((0, len(columns)))
    data = np.vstack(lamination.comm.allgather(local))
    if not len(data):
        return None
    X, area, gap, slip, closed, reached, contact, void0, void_min = data.T
    total = area.sum()
    initial_void = np.sum(area * void0)
    window, phase = window_length(lamination.case, name, profiles.layout.element_length)
    fractions = window_fractions(X, area, closed, window, phase)
    return {
        "contact_fraction_exit": float(np.sum(area * closed) / total),
        "contact_fraction_exit_min": float(min(fractions)) if fractions else None,
        "contact_fraction_exit_max": float(max(fractions)) if fractions else None,
        "contact_fraction_exit_spread_pp": float(100 * np.ptp(fractions))
        if len(fractions) >= 2 else None,
        "exit_windows": len(fractions),
        "exit_window_length_mm": window,
        "compressed_fraction_exit": float(np.sum(area * contact) / total),
        "contact_fraction_reached_in_nip": float(np.sum(area * reached) / total),
        "initial_mean_void_height_exit_mm": float(initial_void / total),
        "void_closure_exit": float(1.0 - np.sum(area * np.maximum(gap, 0.0))
                                   / initial_void) if initial_void > 0 else None,
        "void_closure_in_nip": float(1.0 - np.sum(area * void_min) / initial_void)
        if initial_void > 0 else None,
        "max_void_height_exit_mm": float(max(gap.max(), 0.0)),
        "mean_void_height_exit_mm": float(np.sum(area * np.maximum(gap, 0.0)) / total),
        "max_tangential_jump_exit_mm": float(slip.max()),
        "exit_zone_length_mm": float(np.ptp(X)),
    }


def under_roll_summary(name, history, rolling) -> dict:
    """Contact under the roll at the last rolling step and the largest over the rolling
    steps (`rolling`: the per-step statistics of the rolling steps), pressure and penetration
    maxima over the run (`history`: those of every step)."""
    last = rolling[-1][name] if rolling else None
    known = last is not None
    return {
        "contact_fraction_under_roll": last["contact_fraction_under_roll"] if known else None,
        "contact_fraction_under_roll_max": max(
            (e[name]["contact_fraction_under_roll"] for e in rolling), default=None),
        "closed_fraction_under_roll": last["closed_fraction_under_roll"] if known else None,
        "mean_pressure_under_roll_MPa": last["mean_pressure_under_roll_MPa"] if known else None,
        "void_closure_under_roll": last["void_closure_under_roll"]
        if known and np.isfinite(last["void_closure_under_roll"]) else None,
        "max_pressure_MPa": max((h[name]["max_pressure_MPa"] for h in history), default=0.0),
        "max_penetration_mm": max((h[name]["max_penetration_mm"] for h in history),
                                  default=0.0),
    }


def interface_summary(lamination, profiles, records) -> dict:
    """Per interface: law, stiffness, tolerances, the exit-zone void closure and its
    uniformity, the contact under the roll (at the end and the largest over the rolling
    steps), penetration and pressure maxima over the run. Collective."""
    out = {}
    rolling = [entry for entry, record in zip(lamination.history, records)
               if record.phase == "rolling"]
    for spec in lamination.specs:
        name = spec.name
        law = lamination.laws[name]
        info = lamination.mesh_data.bands[name]
        entry = {
            "law": lamination.law_names[name],
            "normal_stiffness_MPa_per_mm": float(getattr(law, "normal_stiffness", getattr(
                law, "penalty_stiffness", getattr(law, "initial_stiffness", np.nan)))),
            "friction_coefficient": float(getattr(law, "friction_coefficient", np.nan)),
            "regularisation_MPa_per_mm": lamination.regularisation.get(name, 0.0),
            "band_thickness_mm": info.thickness,
            "max_initial_gap_mm": info.max_initial_gap,
            "closure_tolerance_mm": lamination.closure_tolerance[name],
            **under_roll_summary(name, lamination.history, rolling),
        }
        if info.max_initial_gap > 0:
            entry["max_penetration_over_amplitude"] = entry["max_penetration_mm"] / (
                0.5 * info.max_initial_gap)
        exit_stats = exit_statistics(lamination, profiles, name)
        if exit_stats is not None:
            entry.update(exit_stats)
            entry["max_tangential_jump_over_element"] = \
                exit_stats["max_tangential_jump_exit_mm"] / profiles.layout.element_length
        out[name] = entry
    return out


def interface_profile(lamination, profiles, name):
    """(header, rows) along the web (rank 0; None elsewhere): the band's points averaged over
    each column (same reference X): reference x, current x from the roll centre line, normal
    gap, tangential jump, pressure, contact (t_n < 0), closed, closed at some time in the
    pass, in the exit zone."""
    state = lamination.band_state(name)
    exited = profiles.exit_mask(state["X"], state["x"])
    keys = ("x", "gap", "slip", "pressure", "contact", "closed", "reached")
    local = np.column_stack([state["X"], state["area"]]
                            + [state[k].astype(float) for k in keys] + [exited])
    gathered = lamination.comm.gather(local, root=0)
    if lamination.comm.rank != 0:
        return None
    data = np.vstack(gathered)
    data = data[np.argsort(data[:, 0], kind="stable")]
    key = np.round(data[:, 0] / (1e-6 * profiles.layout.element_length)).astype(np.int64)
    unique, start = np.unique(key, return_index=True)
    rows = []
    for k, first in enumerate(start):
        last = start[k + 1] if k + 1 < len(start) else len(data)
        members = data[first:last]
        weight = members[:, 1]
        mean = (members[:, 2:] * weight[:, None]).sum(axis=0) / weight.sum()
        mean[0] -= profiles.layout.nip_x
        rows.append([members[0, 0], *mean])
    header = ["reference_x_mm", "x_from_nip_centre_mm", "gap_normal_mm",
              "gap_tangential_mm", "pressure_MPa", "contact", "closed",
              "closed_during_pass", "exit_zone"]
    return header, np.array(rows)
