"""What a stack run records and reports: one StackRecord per converged step, the interface
profiles at the end of each phase, the summary, history.csv, and the time of contact loss.

Results: ``records`` (pressure, plate displacement, per-interface contact fraction, max/mean
interfacial pressure, max gap, ...), ``summary()`` (per-layer thickness and porosity change,
per-interface contact fraction and j_loc/j_app = 1/fraction, seed 003), and
``write_results(folder)`` (history.csv, interface profiles along x, summary.json). Units mm,
N, MPa, s; in 2D forces are per unit depth (N/mm).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..output import interface_field_writer, write_table

#: per-interface columns of history.csv, with their units
INTERFACE_COLUMNS = ("contact_fraction", "max_pressure", "mean_pressure",
                     "mean_contact_pressure", "max_gap", "max_damage")
INTERFACE_UNITS = {"max_pressure": "_MPa", "mean_pressure": "_MPa",
                   "mean_contact_pressure": "_MPa", "max_gap": "_mm"}


@dataclass
class StackRecord:
    step: int
    phase: str
    time: float
    pressure: float                  # plate force / apparent area, MPa
    plate_displacement: float        # descent of the highest point of the top face, mm
    platen_position: float
    platen_penetration: float        # penalty penetration of the plate, mm
    plate_contact_fraction: float    # top-face area the plate presses / top-face area
    newton_iterations: int           # all Newton iterations of the step (AL solves included)
    al_iterations: int               # multiplier updates in the step
    constraint_violation: float      # |g_n| left at contact points after the AL loop, mm
    interfaces: dict = field(default_factory=dict)     # name -> statistics
    layers: dict = field(default_factory=dict)         # name -> {thickness, porosity}
    residuals: list = field(default_factory=list)


def plastic_hardness(law, dim: int) -> float | None:
    """Indentation hardness H of a perfectly plastic (J2) layer, MPa, for the seed-003 estimate
    fraction = P / H: plane strain (2D) the Prandtl flat-punch / flattened-wedge value
    (2 + pi) k with k = Y / sqrt(3) (von Mises), i.e. 2.97 Y; 3D Tabor's H = 3 Y."""
    if getattr(law, "name", None) not in ("j2", "j2_creep"):   # (creep: its rate-free limit)
        return None
    Y = float(law.yield_stress)
    return (2.0 + np.pi) * Y / np.sqrt(3.0) if dim == 2 else 3.0 * Y


def contact_loss_time(records, interface: str | None = None,
                      pressure_threshold: float | None = None,
                      fraction_threshold: float | None = None) -> dict:
    """The time t* at which the contact is lost: the first time the mean interfacial
    pressure of `interface` (the plate pressure if None) falls below `pressure_threshold`
    (MPa), or its contact fraction below `fraction_threshold`, after it had been above it;
    linear interpolation between the two steps that bracket the crossing. t* is None when the
    threshold is never crossed (the contact holds over the simulated time)."""
    if (pressure_threshold is None) == (fraction_threshold is None):
        raise ValueError("give one of pressure_threshold and fraction_threshold")

    def value(record):
        if fraction_threshold is not None:
            return record.interfaces[interface]["contact_fraction"]
        if interface is None:
            return record.pressure
        return record.interfaces[interface]["mean_pressure"]
    threshold = fraction_threshold if fraction_threshold is not None else pressure_threshold
    loaded = False
    previous = None
    t_star = None
    for record in records:
        if record.phase in ("seat", "unload", "release"):
            previous = None if record.phase != "seat" else previous
            continue
        v = value(record)
        if v >= threshold:
            loaded = True
        elif loaded and previous is not None:
            (t0, v0), t1 = previous, record.time
            t_star = t0 + (t1 - t0) * (v0 - threshold) / (v0 - v) if v0 != v else t1
            break
        previous = (record.time, v)
    quantity = "contact_fraction" if fraction_threshold is not None else (
        "mean_interfacial_pressure_MPa" if interface else "plate_pressure_MPa")
    return {"interface": interface, "quantity": quantity, "threshold": threshold,
            "reached_threshold_before": loaded,
            "t_star_s": t_star, "t_star_days": t_star / 86400.0 if t_star is not None else None,
            "simulated_time_s": records[-1].time if records else 0.0}


class StackResults:
    """Records, summary and files of StackCompaction."""

    def record_step(self, phase: str, report, al: int, violation: float):
        """Append the record of the step just converged, log it, write the fields."""
        top = self.top_height()
        position = float(self.platen_position.value)
        record = StackRecord(
            step=len(self.records) + 1, phase=phase, time=self.time,
            pressure=self.platen_force() / self.apparent_area,
            plate_displacement=self.height0 - top, platen_position=position,
            platen_penetration=max(top - position, 0.0),
            plate_contact_fraction=self.plate_contact_fraction(),
            newton_iterations=int(report.iterations), al_iterations=al,
            constraint_violation=violation,
            interfaces={name: self.interfaces.statistics(name) for name in self.interface_laws},
            layers=self.layer_measures(), residuals=report.residuals)
        self.records.append(record)
        parts = [f"{name[10:]}: f={s['contact_fraction']:.4f} pmax={s['max_pressure']:.4g}"
                 for name, s in record.interfaces.items()]
        self.log(f"step {record.step:3d} {phase:7s} t={record.time:8.4g} s  "
                 f"p={record.pressure:9.4g} MPa  w={record.plate_displacement * 1e3:9.4f} um  "
                 f"newton={record.newton_iterations} AL={al}  " + "  ".join(parts))
        if self.writer is not None:
            self.writer.write(self.time)
        if self.on_step is not None:
            self.on_step(record)

    def snapshot(self, phase: str):
        """Keep the interface profiles at the end of `phase` (rank 0; None elsewhere)."""
        self.snapshots[phase] = {name: self.interfaces.profile(name)
                                 for name in self.interface_laws}

    # --- summary ---------------------------------------------------------------------------------
    def summary(self) -> dict:
        records = self.records
        if not records:
            return {"dimension": self.dim, "steps": 0, "mpi_ranks": self.comm.size,
                    "status": "no step converged"}
        peak = max(records, key=lambda r: r.pressure)
        final = records[-1]
        return {
            "dimension": self.dim,
            "lateral": self.lateral,
            "width_mm": self.width,
            "apparent_area": self.apparent_area,
            "peak_pressure_MPa": peak.pressure,
            "plate_displacement_at_peak_mm": peak.plate_displacement,
            "plate_displacement_final_mm": final.plate_displacement,
            "plate_displacement_before_release_mm": [
                r for r in records if r.phase != "release"][-1].plate_displacement,
            "platen_penalty_MPa_per_mm": self.platen_penalty,
            "plate_contact_fraction_at_peak": peak.plate_contact_fraction,
            "layers": {spec.name: self.layer_summary(spec.name, peak, final)
                       for spec in self.layer_specs},
            "interfaces": {spec.name: self.interface_summary(spec, peak, final)
                           for spec in self.interface_specs},
            "steps": len(records),
            "newton_iterations_total": int(sum(r.newton_iterations for r in records)),
            "al_iterations_total": int(sum(r.al_iterations for r in records)),
            "al_iterations_max_per_step": int(max(r.al_iterations for r in records)),
            "max_constraint_violation_mm": max(r.constraint_violation for r in records),
            "wall_time_s": getattr(self, "wall_time", None),
            "mpi_ranks": self.comm.size,
        }

    def layer_summary(self, name: str, peak: StackRecord, final: StackRecord) -> dict:
        """Thickness (and, for a porous layer, porosity) change of a layer at peak and end."""
        law = self.laws[name]
        h0 = self.layer_volume0[name] / self.apparent_area
        entry = {"material": getattr(law, "card_name", type(law).__name__),
                 "thickness_mm": h0,
                 "thickness_change_at_peak_mm": peak.layers[name]["thickness"] - h0,
                 "thickness_change_final_mm": final.layers[name]["thickness"] - h0}
        porosity0 = getattr(law, "initial_porosity", 0.0) or 0.0
        if porosity0 > 0:
            entry.update({"porosity_initial": porosity0,
                          "porosity_at_peak": peak.layers[name]["porosity"],
                          "porosity_final": final.layers[name]["porosity"],
                          "porosity_change_at_peak": peak.layers[name]["porosity"] - porosity0,
                          "porosity_change_final": final.layers[name]["porosity"] - porosity0})
        return entry

    def interface_summary(self, spec, peak: StackRecord, final: StackRecord) -> dict:
        """Law, stiffness, contact fraction, j_loc/j_app, pressures and gaps of an interface
        at peak and end; with a perfectly plastic neighbour the seed-003 estimate P / H."""
        name = spec.name
        s_peak, s_final = peak.interfaces[name], final.interfaces[name]
        law = self.interface_laws[name]
        fraction = s_peak["contact_fraction"]
        entry = {
            "law": self.interface_law_names[name],
            "normal_stiffness_MPa_per_mm": float(getattr(law, "normal_stiffness", getattr(
                law, "penalty_stiffness", getattr(law, "initial_stiffness", np.nan)))),
            "regularisation_MPa_per_mm": self.regularisation.get(name, 0.0),
            "band_thickness_mm": self.stack_mesh.bands[name].thickness,
            "max_initial_gap_mm": self.stack_mesh.bands[name].max_initial_gap,
            "contact_fraction_at_peak": fraction,
            "j_loc_over_j_app_at_peak": 1.0 / fraction if fraction > 0 else float("inf"),
            "max_pressure_at_peak_MPa": s_peak["max_pressure"],
            "mean_contact_pressure_at_peak_MPa": s_peak["mean_contact_pressure"],
            "max_gap_at_peak_mm": s_peak["max_gap"],
            "max_penetration_at_peak_mm": s_peak["max_penetration"],
            "max_damage": max(r.interfaces[name]["max_damage"] for r in self.records),
            "contact_fraction_final": s_final["contact_fraction"],
            "max_gap_final_mm": s_final["max_gap"],
        }
        hardness = [plastic_hardness(self.laws[layer], self.dim)
                    for layer in (spec.lower, spec.upper)]
        hardness = [h for h in hardness if h is not None]
        if hardness:
            H = min(hardness)
            entry["plastic_hardness_MPa"] = H
            entry["seed003_fraction_P_over_H"] = min(peak.pressure / H, 1.0)
        return entry

    # --- files -----------------------------------------------------------------------------------
    def open_fields(self, path: Path):
        self.writer = self.field_writer(path)

    def field_writer(self, path: Path):
        """A FieldWriter for `path` (fields.pvd) that adds the interface fields on the bands."""
        return interface_field_writer(self.problem, self.interfaces, self.interface_laws, path)

    def close_fields(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def write_results(self, folder):
        """history.csv, interface_<name>_<phase>.csv (profiles along x), summary.json."""
        folder = Path(folder)
        if self.comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
            self.write_history(folder / "history.csv")
            self.write_profiles(folder)
            (folder / "summary.json").write_text(
                json.dumps(self.summary(), indent=2, default=float) + "\n")
        self.comm.barrier()

    def write_history(self, path):
        """One row per step: pressure, plate, AL, per-interface and per-layer measures (rank 0)."""
        names = list(self.interface_laws)
        layer_names = [s.name for s in self.layer_specs]
        header = ["step", "phase", "time_s", "pressure_MPa", "plate_displacement_mm",
                  "platen_penetration_mm", "plate_contact_fraction", "newton_iterations",
                  "al_iterations", "constraint_violation_mm"]
        header += [f"{name}_{key}{INTERFACE_UNITS.get(key, '')}" for name in names
                   for key in INTERFACE_COLUMNS]
        header += [f"{name}_{key}" for name in layer_names
                   for key in ("thickness_mm", "porosity")]
        rows = ([r.step, r.phase, r.time, r.pressure, r.plate_displacement,
                 r.platen_penetration, r.plate_contact_fraction, r.newton_iterations,
                 r.al_iterations, r.constraint_violation]
                + [r.interfaces[name][key] for name in names for key in INTERFACE_COLUMNS]
                + [r.layers[name][key] for name in layer_names
                   for key in ("thickness", "porosity")]
                for r in self.records)
        write_table(path, header, rows)

    def write_profiles(self, folder):
        """interface_<name>_<phase>.csv: the fields along the interface at the end of each
        phase (rank 0)."""
        for phase, profiles in self.snapshots.items():
            for name, profile in profiles.items():
                if profile is None:
                    continue
                header, rows = profile
                write_table(Path(folder) / f"{name}_{phase}.csv", header,
                            ([float(v) for v in row] for row in rows))
