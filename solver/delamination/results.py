"""What a delamination run reports: summary.json (peak and propagation-branch loads against
LEFM, cohesive-zone lengths, toughness from the dissipation, energy balance, Newton
convergence), load_displacement.csv / .png with the closed form, interface_profile.csv.

The toughness from the dissipation is the slope dD/da of the dissipated energy over the crack
length on the propagation branch, divided by B; the energy balance error is
(W - P delta / 2 - D) / W with W the external work int P d(delta).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..output import write_table
from .closed_forms import cohesive_zone_length, slender_cohesive_zone_length
from .opening import RELAXATION_VISCOSITY
from .records import CURVE_COLUMNS, quadratic_convergence
from .specimen import INTERFACE


def summary(model) -> dict:
    """summary.json of a Delamination model."""
    records = model.records
    base = {"test": model.test, "mpi_ranks": model.comm.size, "wall_time_s": model.wall_time}
    if not records:
        return {**base, "steps": 0, "status": "no step converged"}
    out = {**base, **_specimen(model), **_loads(model)}
    convergence = quadratic_convergence([r for r in records if r.phase == "load"])
    out.update({f"newton_{key}": value for key, value in convergence.items()})
    if model.test == "dcb":
        slender = slender_cohesive_zone_length(model.modulus, model.toughness,
                                               model.strength, model.specimen.h)
        out["cohesive_zone_length_slender_mm"] = slender
        out["cohesive_zone_elements_slender"] = slender / model.specimen.element_length
    out.update(_branch(model))
    W, D = records[-1].external_work, records[-1].dissipated_energy
    stored = 0.5 * records[-1].load * records[-1].opening
    out["energy_balance_error"] = (W - stored - D) / W if W > 0 else 0.0
    return out


def _specimen(model) -> dict:
    """The specimen, its closed form, the interface law and the mesh."""
    specimen, law = model.specimen, model.interface_law
    return {
        "arm_thickness_mm": specimen.h, "length_mm": specimen.length,
        "width_mm": specimen.width, "precrack_mm": specimen.precrack,
        "arm_material": getattr(model.arm_law, "card_name", "elastic (moduli)"),
        "youngs_modulus_MPa": float(model.arm_law.youngs_modulus),
        "poisson_ratio": float(model.arm_law.poisson_ratio),
        "plane_strain_modulus_MPa": model.modulus,
        "root_rotation": model.spec.root_rotation, "chi": model.chi,
        "chi_mode_ii": model.beam.chi_ii,
        "interface_law": getattr(law, "name", type(law).__name__),
        "interface_parameters": {k: v for k, v in vars(law).items()
                                 if isinstance(v, (int, float)) and not isinstance(v, bool)},
        "toughness_N_per_mm": model.toughness, "strength_MPa": model.strength,
        "viscosity_s": float(getattr(law, "viscosity", 0.0)),
        "snap_relaxations": model.snaps,
        "relaxation_viscosity_s": RELAXATION_VISCOSITY if model.snaps else 0.0,
        "mesh": {"columns": len(specimen.x_nodes) - 1,
                 "fine_element_length_mm": specimen.element_length,
                 "fine_region_mm": list(specimen.fine_region),
                 "rows_per_arm": specimen.rows,
                 "cells": specimen.cells(),
                 "interface_quadrature": model.interfaces.quadrature},
    }


def _loads(model) -> dict:
    """The peak against LEFM, the Hillerborg zone length, the final state, the steps."""
    records = model.records
    peak = max(records, key=lambda r: r.load)
    lefm_peak = float(model.beam.load(model.specimen.precrack))
    l_cz = cohesive_zone_length(model.modulus, model.toughness, model.strength)
    return {
        "peak_load_N": peak.load, "opening_at_peak_mm": peak.opening,
        "lefm_peak_load_N": lefm_peak,
        "peak_load_error": peak.load / lefm_peak - 1.0,
        "cohesive_zone_length_hillerborg_mm": l_cz,
        "cohesive_zone_elements_hillerborg": l_cz / model.specimen.element_length,
        "final_opening_mm": records[-1].opening, "final_load_N": records[-1].load,
        "final_crack_length_mm": records[-1].crack_length,
        "dissipated_energy_Nmm": records[-1].dissipated_energy,
        "external_work_Nmm": records[-1].external_work,
        "max_penetration_mm": max(r.penetration for r in records),
        "steps": len(records),
        "newton_iterations_total": int(sum(r.newton_iterations for r in records)),
    }


def _branch(model) -> dict:
    """The propagation branch: loads against P(a) and the (delta, P) branch, the process
    zone, the toughness from the dissipation (empty without a branch)."""
    branch = model.propagation_branch()
    if not branch:
        return {}
    element_length = model.specimen.element_length
    zone_lengths = [r.process_zone_tip - r.crack_length for r in branch]
    errors = [r.load / r.lefm_load - 1.0 for r in branch]
    curve = [r.load / model.branch_load(r) - 1.0 for r in branch]
    out = {
        "branch_records": len(branch),
        "branch_crack_length_mm": [branch[0].crack_length, branch[-1].crack_length],
        "branch_load_error_min": min(errors), "branch_load_error_max": max(errors),
        "branch_curve_error_min": min(curve), "branch_curve_error_max": max(curve),
        "process_zone_length_mm": max(zone_lengths),
        "process_zone_elements": max(zone_lengths) / element_length,
    }
    if len(branch) >= 2 and branch[-1].crack_length > branch[0].crack_length:
        a = np.array([r.crack_length for r in branch])
        D = np.array([r.dissipated_energy for r in branch])
        out["toughness_from_dissipation_N_per_mm"] = float(
            np.polyfit(a, D, 1)[0] / model.specimen.width)
    return out


def write_curves(model, folder):
    """load_displacement.csv, interface_profile.csv (damage, gap, traction along x at the
    end) and load_displacement.png with the closed form (collective)."""
    folder = Path(folder)
    profile = model.interfaces.profile(INTERFACE)
    if model.comm.rank != 0:
        return
    write_table(folder / "load_displacement.csv",
                ["step", "phase"] + [f"{k}_{unit}" for k, unit in CURVE_COLUMNS]
                + ["load_over_lefm"],
                ([r.step, r.phase] + [float(getattr(r, k)) for k, _ in CURVE_COLUMNS]
                 + [r.load / r.lefm_load] for r in model.records))
    if profile is not None:
        header, rows = profile
        write_table(folder / "interface_profile.csv", header,
                    ([float(v) for v in row] for row in rows))
    plot(model, folder / "load_displacement.png")


def lefm_curve(model, points: int = 200):
    """(opening, load) of the closed form: the elastic line of the pre-crack up to the
    peak, then the propagation branch (crack lengths a0 .. the fine region's end)."""
    specimen = model.specimen
    a = np.linspace(specimen.precrack, specimen.fine_region[1], points)
    if model.test == "enf":
        a = a[a <= specimen.half_span]
    load = model.beam.load(a)
    opening = model.beam.compliance(a) * load
    return np.concatenate([[0.0], opening]), np.concatenate([[0.0], load])


def plot(model, path):
    """Left: P against the opening (DCB) or deflection (ENF) with the closed form; right:
    P / P_LEFM(a) against the crack length, the propagation branch marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name, dcb = model.test.upper(), model.test == "dcb"
    records = model.records
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    opening, load = lefm_curve(model)
    left.plot(opening, load, "k--", lw=1, label="LEFM, corrected beam theory")
    left.plot([r.opening for r in records], [r.load for r in records], "o-",
              ms=2.5, lw=1, label="cohesive FE")
    left.set_xlabel("DCB opening (mm)" if dcb else "ENF deflection (mm)")
    left.set_ylabel("load P (N)")
    left.grid(alpha=0.3)
    left.legend()
    left.set_title(f"{name}: load against {'opening' if dcb else 'deflection'}")
    branch = model.propagation_branch()
    right.plot([r.crack_length for r in records],
               [r.load / r.lefm_load for r in records], ".", color="0.6", label="all steps")
    right.plot([r.crack_length for r in branch], [r.load / r.lefm_load for r in branch],
               "o", ms=3, label="propagation branch")
    right.axhline(1.0, color="k", lw=0.8)
    for bound in (0.95, 1.05):
        right.axhline(bound, color="k", lw=0.5, ls=":")
    right.set_ylim(0.85, 1.1)
    right.set_xlabel("crack length a, where damage = 1 (mm)")
    right.set_ylabel("P / P_LEFM(a) (-)")
    right.grid(alpha=0.3)
    right.legend()
    right.set_title(f"{name}: FE load over the LEFM load (band: ±5 %)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def describe(summary) -> str:
    """The closing line of a run."""
    text = (f"done in {summary['wall_time_s']:.1f} s: {summary['test'].upper()} peak load "
            f"{summary['peak_load_N']:.4g} N (LEFM {summary['lefm_peak_load_N']:.4g} N, "
            f"{100 * summary['peak_load_error']:+.1f} %), crack "
            f"{summary['precrack_mm']:.4g} -> {summary['final_crack_length_mm']:.4g} mm")
    if "branch_load_error_min" in summary:
        text += (f", propagation branch P/P_LEFM(a) - 1 in "
                 f"[{100 * summary['branch_load_error_min']:+.1f}, "
                 f"{100 * summary['branch_load_error_max']:+.1f}] %")
    return text
