r"""The stack case file (kind = "stack"): StackCompaction driven by a case, plus the engineering
post-processing of the interfaces.

    [[layers]]      bottom to top: name, material card, thickness, elements [, grading, waviness]
    [[interfaces]]  lower, upper, law (contact | bonded | cohesive_bilinear | cohesive_exponential),
                    parameters, roughness / shape, constriction = {electrolyte, conductivity, laplace}
    [stack]         control (pressure | displacement), pressure or displacement, load / hold /
                    unload steps and times, lateral (confined | free | symmetric)

What a run adds to ``StackCompaction``'s records (summary.json, per interface):

* the contact fraction against stack pressure along the loading ramp (a pressure window is
  swept by one run: every load step is a point), and the hot-spot ratio max/mean of the
  interfacial pressure at each of them;
* the debonded length (2D, mm; 3D: area, mm^2): where the damage of a cohesive interface
  reached 1;
* the constriction resistance of the interface at peak load (seed 003), from the contact
  patches of the peak profile (a point of the interface is closed when it carries
  compression, ``InterfaceTerm.contact_mask``):
    - 3D: the Holm sum over the patches, R = 1 / (4 kappa sum a_i), a_i = sqrt(A_i / pi) the
      radius of the circle of the patch's area (patches: 4-connected closed columns), and
      Greenwood's first-order interaction correction;
    - 2D: the patches are strips; the closed form of a periodic array of equal strips with the
      same contact fraction and number of patches (``strip_constriction_resistance``; a strip
      cut by a lateral symmetry face counts as half a strip), and, with
      ``laplace = true``, the finite-element Laplace solve for the ionic potential in the
      electrolyte layer (thickness as built) with the patches as its only conducting boundary
      (``laplace_constriction``).
  Resistances are reported area-specific (ohm cm^2, the unit cell engineers compare), for
  the modelled apparent area.

Files (besides history.csv, summary.json and the ParaView fields written by ``run_case``):
interface_<name>_<phase>.csv (gap, slip, pressure, damage along x at the end of each phase),
contact_fraction_vs_pressure.png, interface_<name>_peak.png (gap and pressure along x).
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from .constriction import holm_resistance, laplace_constriction, strip_constriction_resistance
from .output import rank_zero
from .interface_laws import interface_specs
from .stack import LayerSpec, StackCompaction, contact_loss_time

OHM_MM2_PER_OHM_CM2 = 100.0


def contact_intervals(profile, width: float) -> list[tuple[float, float]]:
    """2D: the closed stretches of an interface as (x_start, x_end) intervals, mm.

    `profile` is (header, rows) from ``InterfaceTerm.profile``: rows along x, each with its area
    weight (the length it stands for, per unit depth) and its contact indicator averaged over
    the column's points (a fraction where a column is partly closed). Point i stands for
    [s_(i-1), s_i], s the running sum of the weights; its closed part, `contact` x its length,
    is put next to a closed neighbour. The intervals' total length is exactly the contact
    fraction x width (the area-weighted fraction of ``InterfaceTerm.statistics``)."""
    header, rows = profile
    rows = rows[np.argsort(rows[:, 0])]
    weight = rows[:, header.index("area_weight")]
    closed = np.clip(rows[:, header.index("contact")], 0.0, 1.0)
    edges = np.concatenate([[0.0], np.cumsum(weight)]) * (width / weight.sum())
    pieces = []
    for i in np.flatnonzero(closed > 0.0):
        start, end = edges[i], edges[i + 1]
        length = closed[i] * (end - start)
        if i > 0 and closed[i - 1] > 0.0:
            pieces.append((start, start + length))
        elif i + 1 < len(closed) and closed[i + 1] > 0.0:
            pieces.append((end - length, end))
        else:
            middle = 0.5 * (start + end)
            pieces.append((middle - 0.5 * length, middle + 0.5 * length))
    intervals = []
    for lo, hi in pieces:
        if intervals and lo - intervals[-1][1] <= 1e-12 * width:
            intervals[-1] = (intervals[-1][0], hi)
        else:
            intervals.append((lo, hi))
    return intervals


def equivalent_strip_count(intervals, width: float, merge_gap: float = 0.0) -> float:
    """Number of contact strips per `width` with the lateral faces as symmetry planes: a strip
    that touches x = 0 or x = width is half of a strip of the periodic array. Intervals closer
    than `merge_gap` count as one strip (the islands that a contact edge leaves on a discrete
    interface belong to the patch next to them)."""
    tol = 1e-9 * width
    clusters = []
    for lo, hi in intervals:
        if clusters and lo - clusters[-1][1] <= merge_gap:
            clusters[-1] = (clusters[-1][0], hi)
        else:
            clusters.append((lo, hi))
    intervals = clusters
    count = float(len(intervals))
    if intervals and intervals[0][0] <= tol:
        count -= 0.5
    if intervals and intervals[-1][1] >= width - tol:
        count -= 0.5
    return max(count, 0.5) if intervals else 0.0


def contact_patches(profile):
    """3D: the closed patches of an interface (4-connected columns of the (x, z) grid with
    some contact). Returns (areas (n,), centres (n, 2)), mm^2 and mm; a column adds its
    contact indicator x its area."""
    header, rows = profile
    x, z = rows[:, 0], rows[:, 1]
    closed = np.clip(rows[:, header.index("contact")], 0.0, 1.0)
    weight = rows[:, header.index("area_weight")] * closed
    xs, ix = np.unique(np.round(x, 12), return_inverse=True)
    zs, iz = np.unique(np.round(z, 12), return_inverse=True)
    ix, iz = ix.ravel(), iz.ravel()
    grid = -np.ones((len(xs), len(zs)), dtype=int)
    grid[ix, iz] = np.arange(len(rows))
    label = -np.ones(len(rows), dtype=int)
    areas, centres = [], []
    for start in np.flatnonzero(closed > 0.0):
        if label[start] >= 0:
            continue
        patch = len(areas)
        label[start] = patch
        pending, members = [start], []
        while pending:
            k = pending.pop()
            members.append(k)
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                a, b = ix[k] + di, iz[k] + dj
                if 0 <= a < len(xs) and 0 <= b < len(zs):
                    m = grid[a, b]
                    if m >= 0 and closed[m] > 0.0 and label[m] < 0:
                        label[m] = patch
                        pending.append(m)
        w = weight[members]
        areas.append(w.sum())
        centres.append([np.dot(w, x[members]) / w.sum(), np.dot(w, z[members]) / w.sum()])
    return np.array(areas), np.array(centres).reshape(-1, 2)


class StackCase:
    """A stack case file as a scenario of ``nipstack.run`` (see the module docstring)."""

    def __init__(self, case, comm, log=print):
        self.case, self.comm = case, comm
        self.log = rank_zero(log, comm)
        geometry, spec, solver = case.geometry, case.stack, case.solver
        layers = [LayerSpec(layer.name, layer.material, layer.thickness, layer.elements,
                            waviness=layer.waviness.build() if layer.waviness else None,
                            overrides=layer.card_overrides(), grading=layer.grading,
                            waviness_mode=layer.waviness_mode)
                  for layer in case.layers]
        interfaces = interface_specs(case)
        options = dict(solver.petsc_options) or None
        self.model = StackCompaction(
            layers, interfaces, width=geometry.width, elements_width=geometry.elements_width,
            dim=geometry.dimension,
            depth=geometry.depth if geometry.dimension == 3 else None,
            elements_depth=geometry.elements_depth, cell_type=spec.cell_type,
            lateral=spec.lateral, platen_penalty_factor=spec.platen_penalty_factor,
            newton_rtol=solver.newton_rtol, newton_atol=solver.newton_atol,
            max_iterations=solver.max_iterations or 30, al_rtol=spec.al_rtol,
            max_cutbacks=solver.max_cutbacks, pressure_method=spec.pressure_method,
            petsc_options=options, comm=comm, log=log)
        self.problem = self.model.problem
        self.records = self.model.records
        self.on_step = None
        self.model.on_step = lambda record: self.on_step and self.on_step(record, self)
        self.constriction: dict = {}

    # --- restart (checkpoint.py): the stepper is the model's --------------------------------------
    @property
    def journal(self):
        return self.model.journal

    @property
    def replay(self):
        return self.model.replay

    @replay.setter
    def replay(self, value):
        self.model.replay = value

    @staticmethod
    def resumable() -> bool:
        return True

    def controls(self) -> dict:
        return {"model": self.model.controls(), "constriction": copy.deepcopy(self.constriction)}

    def set_controls(self, controls: dict):
        self.model.set_controls(controls["model"])
        self.constriction = copy.deepcopy(controls["constriction"])

    # --- the loading programme -----------------------------------------------------------------
    def run(self):
        spec, model = self.case.stack, self.model
        started = time.perf_counter()
        try:
            if spec.control == "pressure":
                model.load(spec.pressure, spec.load_steps, spec.load_time)
            else:
                model.compress(spec.displacement, spec.load_steps, spec.load_time)
            self.constriction = self._constriction()
            if spec.hold_time > 0:
                loss = self.case.contact_loss
                watch = f"interface_{loss.interface}" if loss and loss.interface else None
                model.hold(spec.hold_time, spec.hold_steps,
                           "pressure" if spec.control == "pressure" else "position",
                           first_step=spec.hold_first_step, max_change=spec.hold_max_change,
                           watch=watch)
            if spec.pressure_history:
                model.pressure_history([t + model.time for t, _ in spec.pressure_history],
                                       [p for _, p in spec.pressure_history])
            if spec.unload_steps:
                model.unload(spec.unload_steps, spec.unload_time)
        finally:
            model.wall_time = time.perf_counter() - started

    # --- seed 003: constriction resistance at peak load ------------------------------------------
    def _constriction(self) -> dict:
        out = {}
        width, model = self.case.geometry.width, self.model
        thickness = {layer.name: layer.thickness for layer in self.case.layers}
        for spec in self.case.interfaces:
            if spec.constriction is None:
                continue
            kappa = spec.constriction.conductivity
            profile = model.snapshots["load"][spec.name]       # rank 0 only; None elsewhere
            entry = {"electrolyte": spec.constriction.electrolyte,
                     "conductivity_S_per_mm": kappa}
            if model.dim == 2:
                intervals = contact_intervals(profile, width) if self.comm.rank == 0 else None
                intervals = self.comm.bcast(intervals, root=0)
                fraction = sum(b - a for a, b in intervals) / width
                # islands within 4 columns of a patch belong to it
                n = equivalent_strip_count(intervals, width,
                                           4.0 * width / self.case.geometry.elements_width)
                entry.update({"patches": n, "contact_intervals": len(intervals),
                              "contact_fraction": fraction})
                if n:
                    period = width / n
                    strip = float(strip_constriction_resistance(0.5 * fraction * period,
                                                                0.5 * period, kappa))
                    entry["strip_asr_ohm_cm2"] = strip * period / OHM_MM2_PER_OHM_CM2
                if spec.constriction.laplace and n:
                    result = laplace_constriction(
                        intervals, kappa, width=width,
                        thickness=thickness[spec.constriction.electrolyte], comm=self.comm)
                    entry.update({
                        "laplace_asr_ohm_cm2": result.area_specific_constriction_resistance
                        / OHM_MM2_PER_OHM_CM2,
                        "laplace_bulk_asr_ohm_cm2": result.bulk_resistance * width
                        / OHM_MM2_PER_OHM_CM2,
                        "laplace_dofs": result.dofs})
            else:
                patches = contact_patches(profile) if self.comm.rank == 0 else None
                areas, centres = self.comm.bcast(patches, root=0)
                radii = np.sqrt(areas / np.pi)
                area = model.apparent_area
                entry.update({"patches": int(len(areas)),
                              "contact_fraction": float(areas.sum() / area),
                              "patch_radius_mean_mm": float(radii.mean()) if len(radii) else 0.0})
                if len(radii):
                    holm = holm_resistance(radii, kappa)
                    entry["holm_asr_ohm_cm2"] = holm * area / OHM_MM2_PER_OHM_CM2
                    if len(radii) > 1:
                        greenwood = holm_resistance(radii, kappa, centres, "greenwood")
                        entry["holm_greenwood_asr_ohm_cm2"] = greenwood * area \
                            / OHM_MM2_PER_OHM_CM2
            out[spec.name] = entry
        return out

    # --- results -----------------------------------------------------------------------------------
    def _debonded(self, name: str) -> float:
        """Length (2D, mm) or area (3D, mm^2) of the interface whose damage reached 1."""
        fields = self.model.interfaces.point_fields(name)
        band = self.model.interfaces.bands[name]
        own = band.owned
        local = float(band.area[own][fields["damage"][own] >= 1.0 - 1e-9].sum())
        return self.comm.allreduce(local, op=MPI.SUM)

    def summary(self) -> dict:
        summary = self.model.summary()
        out = {"case": self.case.case.name, **summary}
        loaded = [r for r in self.records if r.phase == "load"]
        peak = max(self.records, key=lambda r: r.pressure) if self.records else None
        out["plate_contact_fraction_vs_pressure"] = [[r.pressure, r.plate_contact_fraction]
                                                     for r in loaded]
        for name, entry in summary.get("interfaces", {}).items():
            entry["contact_fraction_vs_pressure"] = [
                [r.pressure, r.interfaces[name]["contact_fraction"]] for r in loaded]
            entry["pressure_max_over_mean_vs_pressure"] = [
                [r.pressure, r.interfaces[name]["max_pressure"]
                 / r.interfaces[name]["mean_pressure"]]
                for r in loaded if r.interfaces[name]["mean_pressure"] > 0]
            mean = peak.interfaces[name]["mean_pressure"]
            entry["pressure_max_over_mean_at_peak"] = \
                peak.interfaces[name]["max_pressure"] / mean if mean > 0 else None
            entry["debonded_length_mm" if self.model.dim == 2 else "debonded_area_mm2"] = \
                self._debonded(name)
            if name in self.constriction:
                entry["constriction_at_peak"] = self.constriction[name]
        loss = self.case.contact_loss
        if loss is not None:
            out["contact_loss"] = contact_loss_time(
                self.records, f"interface_{loss.interface}" if loss.interface else None,
                loss.pressure_threshold, loss.fraction_threshold)
        return out

    def field_writer(self, path):
        return self.model.field_writer(path)

    def step_outputs(self, record, folder):
        pass

    def final_outputs(self, folder):
        # Gauss points of each interface over all ranks (collective, before rank 0 goes on
        # alone): how finely a contact fraction can be resolved
        bands = self.model.interfaces.bands if self.model.interface_laws else {}
        self._interface_points = {name: self.comm.allreduce(int(np.count_nonzero(band.owned)))
                                  for name, band in bands.items()}
        if self.comm.rank != 0:
            return
        self.model.write_profiles(folder)
        if self.case.output.plots and self.records and self.model.interface_laws:
            self._plot_contact_fraction(Path(folder) / "contact_fraction_vs_pressure.png")
            if any(r.phase in ("hold", "history") for r in self.records):
                self._plot_time(Path(folder) / "contact_vs_time.png")
            for name, profile in self.model.snapshots.get("load", {}).items():
                if profile is not None and self.model.dim == 2:
                    self._plot_profile(name, profile, Path(folder) / f"{name}_peak.png")

    def history_csv(self, path):
        self.model.write_history(path)

    def _plot_contact_fraction(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4.6))
        # one colour per interface, one line style and marker per phase (open markers after
        # the load), the plate on top: lines that coincide (e.g. all at 1) stay visible
        styles = {"load": ("-", "o", 3.5, None), "hold": (":", "s", 4, "none"),
                  "unload": ("--", "^", 5, "none")}
        names = list(self.model.interface_laws)
        for k, name in enumerate(names):
            nested = len(names) - 1 - k      # earlier interfaces: wider lines, larger markers
            for phase, (line, marker, size, face) in styles.items():
                points = [(r.pressure, r.interfaces[name]["contact_fraction"])
                          for r in self.records if r.phase == phase]
                if points:
                    p, f = zip(*points)
                    ax.plot(p, f, ls=line, marker=marker, ms=size + 2.5 * nested, mfc=face,
                            color=f"C{k}", lw=1.2 + 0.8 * nested, alpha=0.85,
                            label=f"{name[10:]} ({phase})")
        points = [(r.pressure, r.plate_contact_fraction) for r in self.records
                  if r.phase == "load"]
        if points:
            p, f = zip(*points)
            ax.plot(p, f, "k--", marker="+", ms=6, lw=1, zorder=5, label="plate (load)")
        ax.set_xlabel("stack pressure (MPa)")
        ax.set_ylabel("contact fraction (-)")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"{self.case.case.name}: contact fraction against stack pressure",
                     fontsize=9)
        self._resolution_notes(ax, [r for r in self.records if r.phase in styles])
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)

    def _resolution_notes(self, ax, records=None):
        """Write on `ax` which interfaces have a contact fraction (strictly between 0 and 1,
        in `records`, default all) that rests on only a few Gauss points
        (output.gauss_point_note): the worst-resolved state of each."""
        from .output import gauss_point_note

        notes = []
        for name in self.model.interface_laws:
            points = getattr(self, "_interface_points", {}).get(name)
            fractions = [r.interfaces[name]["contact_fraction"]
                         for r in (self.records if records is None else records)]
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

    def _plot_time(self, path):
        """Plate / interfacial pressure and contact fraction against time (log axis), from the
        end of the load on; t* marked."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        start = [r for r in self.records if r.phase == "load"][-1]
        later = [r for r in self.records if r.time >= start.time
                 and r.phase not in ("unload", "release")]
        t = np.array([r.time - start.time for r in later])
        keep = t > 0
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True)
        # interfaces as wide translucent lines, the plate as a thin dashed line on top: where
        # the interface carries the plate pressure the two coincide and both stay visible
        top.plot(t[keep], np.array([r.pressure for r in later])[keep], "k--", lw=1, zorder=5,
                 label="plate")
        for k, name in enumerate(self.model.interface_laws):
            p = np.array([r.interfaces[name]["mean_pressure"] for r in later])
            f = np.array([r.interfaces[name]["contact_fraction"] for r in later])
            style = dict(color=f"C{k}", lw=3.0 - 0.6 * min(k, 3), alpha=0.7,
                         ls=("-", "-.", ":", (0, (5, 1)))[k % 4], label=name[10:])
            top.plot(t[keep], p[keep], **style)
            bottom.plot(t[keep], f[keep], **style)
        bottom.set_ylim(0, 1.05)
        self._resolution_notes(bottom, [r for r, shown in zip(later, keep) if shown])
        loss = self.case.contact_loss
        if loss is not None:
            result = contact_loss_time(self.records, f"interface_{loss.interface}"
                                       if loss.interface else None,
                                       loss.pressure_threshold, loss.fraction_threshold)
            axis = top if loss.pressure_threshold is not None else bottom
            axis.axhline(result["threshold"], color="C3", lw=0.8, ls=":")
            if result["t_star_s"] is not None:
                for axis in (top, bottom):
                    axis.axvline(result["t_star_s"] - start.time, color="C3", lw=0.8)
                top.set_title(f"{self.case.case.name}: pressure and contact after the load; "
                              f"t* = {result['t_star_days']:.3g} days", fontsize=9)
        if top.get_title() == "":
            top.set_title(f"{self.case.case.name}: pressure and contact after the load",
                          fontsize=9)
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

    def _plot_profile(self, name, profile, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

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
        ax.set_title(f"{self.case.case.name}: {name[10:]} at peak load", fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)

    @staticmethod
    def describe(summary) -> str:
        parts = [f"done in {summary['wall_time_s']:.1f} s: peak pressure "
                 f"{summary['peak_pressure_MPa']:.4g} MPa, plate travel "
                 f"{summary['plate_displacement_at_peak_mm'] * 1e3:.4g} um"]
        for name, entry in summary["interfaces"].items():
            ratio = entry.get("pressure_max_over_mean_at_peak")
            parts.append(f"{name[10:]}: contact fraction {entry['contact_fraction_at_peak']:.4f}"
                         + (f", max/mean pressure {ratio:.3f}" if ratio else "")
                         + (f", max damage {entry['max_damage']:.3f}"
                            if entry["max_damage"] > 0 else ""))
        return "; ".join(parts)
