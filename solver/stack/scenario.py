"""The stack case file (kind = "stack") as a scenario of ``nipstack.run``: StackCompaction
built from the case, its loading programme, and the engineering post-processing of the
interfaces.

    [[layers]]      bottom to top: name, material card, thickness, elements [, grading, waviness]
    [[interfaces]]  lower, upper, law (contact | bonded | cohesive_bilinear | cohesive_exponential
                    | interphase), parameters, roughness / shape, constriction = {electrolyte,
                    conductivity, laplace}
    [stack]         control (pressure | displacement), pressure or displacement, load / hold /
                    pressure history / unload steps and times, lateral (confined | free |
                    symmetric), solver controls (see StackSettings)

What a run adds to StackCompaction's summary, per interface: the contact fraction and the
hot-spot ratio max/mean of the interfacial pressure at every load step (a pressure window is
swept by one run); the debonded length (2D, mm; 3D: area, mm^2) where the damage of a cohesive
interface reached 1; the constriction resistance at peak load (``stack.patches``); and, with
[contact_loss], the time t* of contact loss. Files besides history.csv, summary.json and the
ParaView fields written by ``run_case``: interface_<name>_<phase>.csv,
contact_fraction_vs_pressure.png, contact_vs_time.png, interface_<name>_peak.png.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from ..interface_laws import interface_specs
from ..output import rank_zero
from .model import LayerSpec, StackCompaction
from .patches import patch_constriction, strip_constriction
from .plots import plot_after_load, plot_contact_fraction, plot_interface_at_peak
from .records import contact_loss_time
from .settings import case_settings


def case_layers(case) -> list[LayerSpec]:
    """The case file's [[layers]] as the model's LayerSpecs."""
    return [LayerSpec(layer.name, layer.material, layer.thickness, layer.elements,
                      waviness=layer.waviness.build() if layer.waviness else None,
                      overrides=layer.card_overrides(), grading=layer.grading,
                      waviness_mode=layer.waviness_mode)
            for layer in case.layers]


class StackCase:
    """A stack case file as a scenario of ``nipstack.run`` (see the module docstring)."""

    def __init__(self, case, comm, log=print):
        self.case, self.comm = case, comm
        self.log = rank_zero(log, comm)
        geometry = case.geometry
        self.model = StackCompaction(
            case_layers(case), interface_specs(case), width=geometry.width,
            elements_width=geometry.elements_width, dim=geometry.dimension,
            depth=geometry.depth if geometry.dimension == 3 else None,
            elements_depth=geometry.elements_depth, cell_type=case.stack.cell_type,
            lateral=case.stack.lateral, petsc_options=dict(case.solver.petsc_options) or None,
            comm=comm, log=log, **case_settings(case))
        self.problem = self.model.problem
        self.records = self.model.records
        self.on_step = None
        self.model.on_step = lambda record: self.on_step and self.on_step(record, self)
        self.constriction: dict = {}
        self.interface_points: dict = {}

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
            self.constriction = self.constriction_at_peak()
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

    def constriction_at_peak(self) -> dict:
        """Seed 003: the constriction resistance of every interface with a `constriction`
        table, from its contact patches at the end of the load (``stack.patches``)."""
        out = {}
        geometry, model = self.case.geometry, self.model
        thickness = {layer.name: layer.thickness for layer in self.case.layers}
        for spec in self.case.interfaces:
            if spec.constriction is None:
                continue
            profile = model.snapshots["load"][spec.name]       # rank 0 only; None elsewhere
            entry = {"electrolyte": spec.constriction.electrolyte,
                     "conductivity_S_per_mm": spec.constriction.conductivity}
            if model.dim == 2:
                entry.update(strip_constriction(
                    profile, spec.constriction, geometry.width, geometry.elements_width,
                    thickness[spec.constriction.electrolyte], self.comm))
            else:
                entry.update(patch_constriction(profile, spec.constriction,
                                                model.apparent_area, self.comm))
            out[spec.name] = entry
        return out

    # --- results -----------------------------------------------------------------------------------
    def debonded(self, name: str) -> float:
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
                self.debonded(name)
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
        self.interface_points = {name: self.comm.allreduce(int(np.count_nonzero(band.owned)))
                                 for name, band in bands.items()}
        if self.comm.rank != 0:
            return
        self.model.write_profiles(folder)
        if self.case.output.plots and self.records and self.model.interface_laws:
            self.plot(Path(folder))

    def plot(self, folder: Path):
        """The case's plots (rank 0; ``stack.plots``)."""
        title, names = self.case.case.name, list(self.model.interface_laws)
        plot_contact_fraction(folder / "contact_fraction_vs_pressure.png", title, names,
                              self.records, self.interface_points)
        if any(r.phase in ("hold", "history") for r in self.records):
            plot_after_load(folder / "contact_vs_time.png", title, names, self.records,
                            self.interface_points, self.case.contact_loss)
        for name, profile in self.model.snapshots.get("load", {}).items():
            if profile is not None and self.model.dim == 2:
                plot_interface_at_peak(folder / f"{name}_peak.png", title, name, profile)

    def history_csv(self, path):
        self.model.write_history(path)

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
