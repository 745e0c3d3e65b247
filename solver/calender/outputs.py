"""Files a calender run writes besides summary.json and history.csv: nip_profile.csv and
exit_porosity_along_web.csv, <interface>_profile.csv per interface, in 3D cross_web_profile.csv,
the pictures (nip_pressure.png, porosity_field.png, <interface>.png,
porosity_through_thickness.png, in 3D cross_web_profile.png) and the ParaView writer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..output import (POROSITY_MIN_SPAN, ColourScale, FieldWriter, gauss_point_note,
                      interface_field_writer, plain_ticks, profile_limits)
from .lamination_summary import interface_profile
from .slab import cross_web_profile


def field_writer(calender, path):
    """The ParaView writer (``run_case``): with interfaces, the interface gap, pressure,
    damage and contact on the band cells are added (``output.interface_field_writer``)."""
    if calender.interfaces is None:
        return FieldWriter(calender.problem, Path(path))
    return interface_field_writer(calender.problem, calender.interfaces,
                                  calender.interface_laws, path)


def write_final_outputs(calender, folder):
    """The tables (rank 0) and, with `output.plots`, the pictures. Collective."""
    profiles = calender.profiles
    surface = profiles.surface_profile()
    layers = [(layer.name, profiles.cells(layer)) for layer in calender.case.layers]
    profile = profiles.exit_profile(profiles.cells())
    summary = calender.summary()
    interface_profiles = {name: interface_profile(calender.lamination, profiles, name)
                          for name in calender.interface_laws}
    cross_web = cross_web_profile(calender) if calender.case.geometry.dimension == 3 else None
    if calender.comm.rank != 0:
        return
    if cross_web is not None:
        np.savetxt(folder / "cross_web_profile.csv", np.column_stack(list(cross_web.values())),
                   delimiter=",", header=",".join(cross_web), comments="", fmt="%.9g")
    for name, (header, rows) in interface_profiles.items():
        np.savetxt(folder / f"{name}_profile.csv", rows, delimiter=",",
                   header=",".join(header), comments="", fmt="%.9g")
    np.savetxt(folder / "nip_profile.csv", surface[:, [0, 1, 2, 5]], delimiter=",",
               header="x_from_nip_centre_mm,y_mm,pressure_MPa,shear_traction_MPa",
               comments="")
    if profile is not None:
        np.savetxt(folder / "exit_porosity_along_web.csv",
                   np.column_stack(profile[:2]), delimiter=",",
                   header="reference_x_mm,exit_porosity", comments="")
    if not calender.case.output.plots:
        return
    import matplotlib
    matplotlib.use("Agg")

    name_line = f"{calender.case.case.name}: "
    plot_nip_pressure(surface, summary, folder, name_line)
    plot_porosity_field(calender, layers, folder, name_line)
    for name, (header, rows) in interface_profiles.items():
        plot_interface(name, rows, summary["interfaces"][name], folder, name_line)
    if cross_web is not None:
        plot_cross_web(cross_web, calender.case.geometry, folder, name_line)
    through = summary.get("exit_porosity_through_thickness")
    coating = calender.layout.coating
    if through and calender.laws[coating.name].initial_porosity > 0:
        plot_through_thickness(through, coating.name, folder, name_line)


def plot_nip_pressure(surface, summary, folder, name_line):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(surface[:, 0], surface[:, 2], "-", label="pressure p (compression +)")
    ax.plot(surface[:, 0], surface[:, 5], "--", label="shear traction (+ forward)")
    ax.set_xlabel("x from the roll centre (mm; web moves to the right)")
    ax.set_ylabel("nip traction (MPa)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(f"{name_line}roll traction on the web, line load "
                 f"{summary['line_load_N_per_mm']:.3g} N/mm", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "nip_pressure.png", dpi=130)
    plt.close(fig)


def plot_porosity_field(calender, layers, folder, name_line):
    """Porosity over the web around the nip (current configuration, cell centroids); the
    vertical scale is stretched so that the thin web can be read. Nothing for a web of dense
    layers (e.g. lithium on copper)."""
    import matplotlib.pyplot as plt

    porous = [(name, c) for name, c in layers if calender.laws[name].initial_porosity > 0]
    if not porous:
        return
    nip_x = calender.layout.nip_x
    fig, ax = plt.subplots(figsize=(8, 3.4))
    window = 3.0 * calender.layout.contact_estimate
    shown = np.concatenate([c[np.abs(c[:, 2] - nip_x) <= window, 4] for _, c in porous])
    scale = ColourScale(shown, min_span=POROSITY_MIN_SPAN)
    dense = False
    for name, layer_cells in layers:
        x = layer_cells[:, 2] - nip_x
        near = np.abs(x) <= window
        if calender.laws[name].initial_porosity > 0:
            image = ax.scatter(x[near], 1e3 * layer_cells[near, 3],
                               c=layer_cells[near, 4], s=12, marker="s", cmap="viridis",
                               vmin=scale.vmin, vmax=scale.vmax)
        else:
            dense = True
            ax.scatter(x[near], 1e3 * layer_cells[near, 3], c="0.6", s=12, marker="s")
    scale.colourbar(fig, ax, image, "porosity (-)")
    ax.set_xlabel("x from the roll centre (mm; web moves to the right)"
                  + ("; grey: dense layer" if dense else ""))
    ax.set_ylabel("height (µm)")
    ax.set_title(f"{name_line}porosity around the nip (cell centres)\n"
                 f"{scale.describe('porosity', '-')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "porosity_field.png", dpi=130)
    plt.close(fig)


def plot_interface(name, rows, entry, folder, name_line):
    """Normal gap and pressure of interface `name` along the web (`rows`: its profile)."""
    import matplotlib.pyplot as plt

    fig, (ax_gap, ax_p) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
    x = rows[:, 1]
    ax_gap.plot(x, 1e3 * rows[:, 2], "-", lw=0.8)
    ax_gap.set_ylabel("normal gap (µm)")
    ax_gap.grid(alpha=0.3)
    ax_p.plot(x, rows[:, 4], "-", lw=0.8)
    ax_p.set_ylabel("interface pressure (MPa)\n(compression +)")
    ax_p.set_xlabel("x from the roll centre (mm; web moves to the right)")
    ax_p.grid(alpha=0.3)
    fraction = entry.get("contact_fraction_exit")
    ax_gap.set_title(f"{name_line}{name[10:]}: exit contact fraction "
                     + (f"{fraction:.4f}" if fraction is not None else "n/a"), fontsize=9)
    # the exit fraction is averaged over the columns of interface points that left the nip:
    # with few of them it moves in coarse steps
    note = gauss_point_note(fraction, int(np.sum(rows[:, 8] > 0.5))) \
        if fraction is not None else None
    if note:
        ax_p.annotate(note.replace("Gauss points", "interface point columns in the "
                                   "exit zone"), xy=(0, 0), xycoords="axes fraction",
                      xytext=(0, -36), textcoords="offset points", va="top",
                      fontsize=7, color="C3", wrap=True)   # below the x label
    fig.tight_layout()
    fig.savefig(folder / f"{name}.png", dpi=130)
    plt.close(fig)


def plot_through_thickness(through, coating_name, folder, name_line):
    import matplotlib.pyplot as plt

    heights = (np.arange(len(through)) + 0.5) / len(through)
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot(through, heights, "o-")
    # at least 1 percentage point wide: a profile that varies by 0.01 pp is drawn
    # (nearly) straight, not stretched over the whole axis; the title gives the range
    ax.set_xlim(*profile_limits(through, POROSITY_MIN_SPAN))
    ax.set_ylim(0.0, 1.0)
    plain_ticks(ax.xaxis, 6)
    ax.set_xlabel("exit porosity (-)")
    ax.set_ylabel(f"relative height in {coating_name} (-)\n0 = foil side, 1 = roll side")
    spread = float(np.ptp(through))
    ax.set_title(f"{name_line}exit porosity through the thickness\n"
                 + ("uniform to round-off" if ColourScale(through).uniform else
                    f"range {100 * spread:.3g} pp (max - min)"), fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "porosity_through_thickness.png", dpi=130)
    plt.close(fig)


def plot_cross_web(profile, geometry, folder, name_line):
    """Exit porosity, coating thickness and machine-direction elongation across the slab
    (3D), with the lane, edge zone and margin marked."""
    import matplotlib.pyplot as plt

    z = profile["z_mm"]
    fig, axes = plt.subplots(3, 1, figsize=(6, 6.5), sharex=True)
    rows = (("exit_porosity", "exit porosity (-)", 1.0),
            ("coating_thickness_mm", "coating thickness (um)", 1e3),
            ("elongation", "MD elongation - 1 (1e-3)", None))
    for ax, (key, label, scale) in zip(axes, rows):
        values = (profile[key] - 1.0) * 1e3 if scale is None else profile[key] * scale
        ax.plot(z, values, "o-", ms=3)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
        for edge in (geometry.lane_width, geometry.lane_width + geometry.edge_width):
            ax.axvline(edge, color="0.6", lw=0.8, ls=":")
    axes[-1].set_xlabel("z across the web from the lane centre (mm): lane | edge | margin")
    axes[0].set_title(f"{name_line}exit zone across the width", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "cross_web_profile.png", dpi=130)
    plt.close(fig)
