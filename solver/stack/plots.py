"""The stack case's plots (rank 0, matplotlib): contact fraction against stack pressure,
pressure and contact against time after the load (t* marked), and an interface at peak load
(pressure and gap along x)."""
from __future__ import annotations

import numpy as np

from ..output import gauss_point_note
from .records import contact_loss_time

#: phase -> (line style, marker, marker size, marker face) of the contact-fraction plot
PHASE_STYLES = {"load": ("-", "o", 3.5, None), "hold": (":", "s", 4, "none"),
                "unload": ("--", "^", 5, "none")}


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_contact_fraction(path, title: str, interface_names, records, interface_points):
    """Contact fraction of every interface (and of the plate) against stack pressure: one
    colour per interface, one line style and marker per phase (open markers after the load),
    the plate on top, so that lines that coincide (e.g. all at 1) stay visible."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    names = list(interface_names)
    for k, name in enumerate(names):
        nested = len(names) - 1 - k      # earlier interfaces: wider lines, larger markers
        for phase, (line, marker, size, face) in PHASE_STYLES.items():
            points = [(r.pressure, r.interfaces[name]["contact_fraction"])
                      for r in records if r.phase == phase]
            if points:
                p, f = zip(*points)
                ax.plot(p, f, ls=line, marker=marker, ms=size + 2.5 * nested, mfc=face,
                        color=f"C{k}", lw=1.2 + 0.8 * nested, alpha=0.85,
                        label=f"{name[10:]} ({phase})")
    points = [(r.pressure, r.plate_contact_fraction) for r in records if r.phase == "load"]
    if points:
        p, f = zip(*points)
        ax.plot(p, f, "k--", marker="+", ms=6, lw=1, zorder=5, label="plate (load)")
    ax.set_xlabel("stack pressure (MPa)")
    ax.set_ylabel("contact fraction (-)")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"{title}: contact fraction against stack pressure", fontsize=9)
    resolution_notes(ax, names, [r for r in records if r.phase in PHASE_STYLES],
                     interface_points)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def resolution_notes(ax, interface_names, records, interface_points: dict):
    """Write on `ax` which interfaces have a contact fraction (strictly between 0 and 1, in
    `records`) that rests on only a few of their `interface_points` Gauss points
    (output.gauss_point_note): the worst-resolved state of each."""
    notes = []
    for name in interface_names:
        points = interface_points.get(name)
        fractions = [r.interfaces[name]["contact_fraction"] for r in records]
        if not points:
            continue
        worst = min((f for f in fractions if 0.0 < f < 1.0),
                    key=lambda f: min(f, 1.0 - f), default=None)
        note = gauss_point_note(worst, points) if worst is not None else None
        if note:
            notes.append(f"{name[10:]}: {note}")
    if notes:        # below the x label, where it hides no line
        ax.annotate("\n".join(notes), xy=(0, 0), xycoords="axes fraction",
                    xytext=(0, -36), textcoords="offset points", va="top", fontsize=7,
                    color="C3", wrap=True)


def plot_after_load(path, title: str, interface_names, records, interface_points, loss):
    """Plate / interfacial pressure and contact fraction against time (log axis), from the end
    of the load on; with `loss` (the case's [contact_loss]) its threshold and t* marked."""
    plt = pyplot()
    start = [r for r in records if r.phase == "load"][-1]
    later = [r for r in records if r.time >= start.time
             and r.phase not in ("unload", "release")]
    t = np.array([r.time - start.time for r in later])
    keep = t > 0
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True)
    # interfaces as wide translucent lines, the plate as a thin dashed line on top: where
    # the interface carries the plate pressure the two coincide and both stay visible
    top.plot(t[keep], np.array([r.pressure for r in later])[keep], "k--", lw=1, zorder=5,
             label="plate")
    for k, name in enumerate(interface_names):
        p = np.array([r.interfaces[name]["mean_pressure"] for r in later])
        f = np.array([r.interfaces[name]["contact_fraction"] for r in later])
        style = dict(color=f"C{k}", lw=3.0 - 0.6 * min(k, 3), alpha=0.7,
                     ls=("-", "-.", ":", (0, (5, 1)))[k % 4], label=name[10:])
        top.plot(t[keep], p[keep], **style)
        bottom.plot(t[keep], f[keep], **style)
    bottom.set_ylim(0, 1.05)
    resolution_notes(bottom, interface_names, [r for r, shown in zip(later, keep) if shown],
                     interface_points)
    if loss is not None:
        result = contact_loss_time(records, f"interface_{loss.interface}"
                                   if loss.interface else None,
                                   loss.pressure_threshold, loss.fraction_threshold)
        axis = top if loss.pressure_threshold is not None else bottom
        axis.axhline(result["threshold"], color="C3", lw=0.8, ls=":")
        if result["t_star_s"] is not None:
            for axis in (top, bottom):
                axis.axvline(result["t_star_s"] - start.time, color="C3", lw=0.8)
            top.set_title(f"{title}: pressure and contact after the load; "
                          f"t* = {result['t_star_days']:.3g} days", fontsize=9)
    if top.get_title() == "":
        top.set_title(f"{title}: pressure and contact after the load", fontsize=9)
    top.set_ylabel("mean pressure (MPa)\n(compression +)")
    bottom.set_ylabel("contact fraction (-)")
    bottom.set_xlabel("time since the end of the load (s)")
    bottom.set_xscale("log")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_interface_at_peak(path, title: str, name: str, profile):
    """Interfacial pressure and normal gap along x at peak load (2D)."""
    plt = pyplot()
    header, rows = profile
    rows = rows[np.argsort(rows[:, 0])]
    x = rows[:, 0] * 1e3
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(x, rows[:, header.index("pressure_MPa")], color="C0")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("interfacial pressure (MPa, compression +)", color="C0")
    twin = ax.twinx()
    twin.plot(x, rows[:, header.index("gap_normal_mm")] * 1e3, color="C3")
    twin.set_ylabel("normal gap (µm)", color="C3")
    ax.grid(alpha=0.3)
    ax.set_title(f"{title}: {name[10:]} at peak load", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
