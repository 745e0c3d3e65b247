"""width_profile.png: line load, gap, exit porosity and foil stress across the web."""
from __future__ import annotations

import numpy as np


def plot_profile(scenario, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = np.array(scenario.profile_rows(), dtype=float)
    x = rows[:, 0]
    lane = ~np.isnan(rows[:, 6])
    figure, axes = plt.subplots(4, 1, figsize=(8, 10), sharex=True)
    axes[0].plot(x, rows[:, 1], color="tab:blue")
    axes[0].set_ylabel("line load q (N/mm)")
    axes[1].plot(x, rows[:, 2] * 1e3, color="tab:green")
    axes[1].set_ylabel("roll gap (µm)")
    axes[2].plot(x[lane], rows[lane, 6], color="tab:red", label="exit")
    axes[2].plot(x[lane], rows[lane, 4], color="tab:red", ls=":", label="entry")
    if scenario.bottom_coating is not None:       # a double-sided web: the face under the foil
        column = scenario.profile_columns.index("bottom_exit_porosity")
        axes[2].plot(x[lane], rows[lane, column], color="tab:orange", ls="--",
                     label=f"exit, {scenario.bottom_coating.name} (under the foil)")
        web = scenario.web
        if not np.array_equal(web.bottom_porosity, web.porosity):   # its own entry porosity
            column = scenario.profile_columns.index("bottom_entry_porosity")
            axes[2].plot(x[lane], rows[lane, column], color="tab:orange", ls=":",
                         label=f"entry, {scenario.bottom_coating.name}")
    axes[2].set_ylabel("porosity (-)")
    axes[2].legend(loc="best")
    axes[3].plot(x, rows[:, 8], color="tab:purple")
    axes[3].axhline(0.0, color="grey", lw=0.5)
    axes[3].set_ylabel("foil MD stress (MPa)")
    axes[3].set_xlabel("x across the web, from the face centre (mm)")
    crown = scenario.crown_result
    title = (f"{scenario.case.case.name}: total nip force "
             f"{scenario.solution.total_load / 1e3:.2f} kN")
    if crown is not None and crown["found"]:
        best = crown["solution"]
        axes[2].plot(x[lane], best.values["exit_porosity"], color="k", ls="--",
                     label=f"exit, best {crown['shape']} crown "
                           f"{crown['amplitude_on_diameter_mm'] * 1e3:.1f} µm")
        axes[2].legend(loc="best")
    wrinkles = [zone for zone in scenario.membrane["zones"] if zone["wrinkles"]]
    for zone in wrinkles:
        axes[3].axvspan(zone["x_from_mm"], zone["x_to_mm"], color="orange", alpha=0.3)
    if wrinkles:
        title += " (orange: compressed beyond the wrinkling stress)"
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
