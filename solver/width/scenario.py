"""`kind = "calender_width"`: the case_run.py scenario of the full-width roll-stack model.

Order of a run: the nip response table from 2D calender runs (cached), the two roll beams and
the web, the coupled solve (gap control: calender.gap is g0, the gap of the uncrowned,
undeflected rolls; line-load control: calender.line_load is the mean line load over the coated
lane, so the total nip force is line_load x coated_width), then the elongation / in-plane
stress / wrinkling check and, if asked, the crown optimiser.

The scenario has no finite-element problem of its own (`problem = None`): its 2D runs are
Calender problems that live and die inside the response table. case_run.py skips the mesh line,
the material warnings and the pyvista pictures for it; its outputs are width_profile.csv,
width_profile.png, roll_deflection.csv, summary.json and history.csv (the Newton iterations).
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from ..case import layer_laws
from .crown import optimise_crown, rms_spread
from .lanes import Strip, membrane_state
from .model import Web, WidthModel, WidthSolveError, roll_geometry
from .response import ResponseError, build_response, double_sided, response_grid

PROFILE_COLUMNS = ("x_mm", "line_load_N_per_mm", "gap_mm", "entry_coating_thickness_mm",
                   "entry_porosity", "exit_thickness_mm", "exit_porosity",
                   "machine_direction_elongation", "foil_stress_MPa",
                   "membrane_force_N_per_mm")
#: a double-sided web's coating under the foil: more columns of width_profile.csv
BOTTOM_COLUMNS = ("bottom_entry_coating_thickness_mm", "bottom_entry_porosity",
                  "bottom_exit_thickness_mm", "bottom_exit_porosity")


def coating_modulus(law, initial_porosity, porosity) -> np.ndarray:
    """E of the coating card at the exit porosity (MPa): a porous (DPC) card's own E(phi) at
    the plastic state kappa = ln((1 - phi0) / (1 - phi)); a dense card's Young's modulus."""
    if not hasattr(law, "effective_youngs_modulus"):      # only the DPC law has E(porosity)
        return np.full_like(np.asarray(porosity, dtype=float), law.virgin_elastic_moduli()[0])
    kappa = np.log((1.0 - initial_porosity) / (1.0 - np.asarray(porosity)))
    return np.asarray(law.effective_youngs_modulus({"plastic_volumetric_strain": kappa}))


class CalenderWidth:
    problem = None          # no FE problem of its own (see the module docstring)

    def __init__(self, case, comm, log=print):
        self.case, self.comm, self.log = case, comm, log
        self.spec, self.records, self.on_step = case.width, [], None
        self.laws = layer_laws(case.layers)
        layers = case.layers          # (load_case checked the web: case.load._check_width_web)
        self.coating = layers[-1]
        self.bottom_coating = layers[0] if double_sided(case) else None
        self.foil = layers[-2] if len(layers) > 1 else None
        self.web = Web.from_case(case, self.laws)
        self.crown_result = None

    def grid(self) -> dict:
        return response_grid(self.spec, self.web)

    def run(self):
        """The table, the coupled solve and, if asked, the crown optimiser. A coupled problem
        the table cannot answer (the load needs a larger reduction than it holds, the
        margins close on the foil) stops the run as RunIncomplete (exit 3, INCOMPLETE) with
        the model's message; a crown it cannot answer for only costs the crown."""
        from ..mechanics import RunIncomplete

        started = time.perf_counter()
        spec = self.spec
        cache = Path(spec.response_cache).expanduser() if spec.response_cache else None
        try:
            self.response = build_response(self.case, self.grid(), self.comm, self.log, cache)
            self.solve()
        except (WidthSolveError, ResponseError) as error:
            raise RunIncomplete(f"the width model has no solution: {error}") from None
        if spec.optimise_crown != "none":
            self.crown_result = optimise_crown(self.model, self.solution.total_load,
                                               spec.optimise_crown, spec.crown_limit,
                                               spec.tolerance)
            if not self.crown_result["found"]:
                self.log(f"  crown optimiser: no {spec.optimise_crown} crown found: "
                         f"{self.crown_result['reason']}")
        self.wall_time = time.perf_counter() - started

    def solve(self):
        """The coupled roll/nip solution at the case's gap or line load, its margins and the
        in-plane state of the web."""
        spec, calender = self.spec, self.case.calender
        diameter = 2.0 * calender.roll_radius
        self.model = WidthModel(self.web, roll_geometry(spec.top_roll, diameter),
                                roll_geometry(spec.bottom_roll, diameter), self.response,
                                spec.element_length)
        if calender.control == "gap":
            solution = self.model.solve(g0=calender.gap, tolerance=spec.tolerance)
        else:
            solution = self.model.solve(total_load=calender.line_load * spec.coated_width,
                                        tolerance=spec.tolerance)
        self.margins = self.model.margins(solution)
        self.solution = solution
        self.membrane = self.web_stress()
        self.records = solution.history

    def web_stress(self) -> dict:
        """The in-plane state of the web (lanes.membrane_state) after this solution."""
        values, web = self.solution.values, self.web
        law = self.laws[self.coating.name]
        modulus = coating_modulus(law, web.porosity, values["exit_porosity"])
        bottom = ()
        if self.bottom_coating is not None:
            bottom = (values["bottom_exit_thickness_mm"], coating_modulus(
                self.laws[self.bottom_coating.name], web.bottom_porosity,
                values["bottom_exit_porosity"]))
        strips = {"lane": Strip(web.x, values["machine_direction_elongation"] - 1.0,
                                values["exit_thickness_mm"], modulus, *bottom)}
        for side, edge, far in (("left", web.x[0], web.left_edge),
                                ("right", web.x[-1], web.right_edge)):
            if abs(far - edge) > 0:      # the bare foil: untouched, stretch 1, no coating
                x = np.linspace(min(far, edge), max(far, edge), 9)
                strips[side] = Strip(x, *(np.zeros_like(x),) * 3)
        self.strip_names = [name for name in ("left", "lane", "right") if name in strips]
        strips = [strips[name] for name in self.strip_names]
        if self.foil is not None:
            foil_law = self.laws[self.foil.name]
            foil = (*foil_law.virgin_elastic_moduli(), self.foil.thickness)
        else:
            foil = (0.0, 0.3, 0.0)
        nu = law.virgin_elastic_moduli()[1]
        return membrane_state(strips, foil, nu, self.case.calender.front_tension)

    # --- the case_run.py protocol ---------------------------------------------------------------
    def step_outputs(self, record, folder):
        """Nothing per step: the width model's one record is written by final_outputs."""

    def summary(self) -> dict:
        from .summary import width_summary
        return width_summary(self)

    @property
    def profile_columns(self) -> tuple[str, ...]:
        return PROFILE_COLUMNS + (BOTTOM_COLUMNS if self.bottom_coating is not None else ())

    def profile_rows(self) -> list[list[float]]:
        """One row per cross-section across the whole web (margins included), in the order
        of `profile_columns`."""
        values, web, rows = self.solution.values, self.web, []
        two_faces = self.bottom_coating is not None
        for name, strip in zip(self.strip_names, self.membrane["strips"]):
            if name != "lane":                    # the edge point is in both: a jump in x
                x_gap, gap = self.margins[name]
                gaps = np.interp(strip["x"], x_gap, gap)
                bare = [0.0, float("nan"), 0.0, float("nan")] if two_faces else []
                rows += [[x, 0.0, g, 0.0, float("nan"), 0.0, float("nan"), 1.0, s, n, *bare]
                         for x, g, s, n in zip(strip["x"], gaps, strip["foil_stress"],
                                               strip["membrane_force"])]
                continue
            for i, x in enumerate(web.x):
                rows.append([x, self.solution.q[i], self.solution.gap[i], web.thickness[i],
                             web.porosity[i], values["exit_thickness_mm"][i],
                             values["exit_porosity"][i],
                             values["machine_direction_elongation"][i],
                             strip["foil_stress"][i], strip["membrane_force"][i]])
                if two_faces:
                    rows[-1] += [web.bottom_thickness[i], web.bottom_porosity[i],
                                 values["bottom_exit_thickness_mm"][i],
                                 values["bottom_exit_porosity"][i]]
        return rows

    def final_outputs(self, folder):
        if self.comm.rank != 0:
            return
        folder = Path(folder)
        with open(folder / "width_profile.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.profile_columns)
            writer.writerows([[f"{v:.9g}" for v in row] for row in self.profile_rows()])
        with open(folder / "roll_deflection.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["roll", "x_mm", "deflection_mm"])
            for name, (x, w) in zip(("top", "bottom"), self.model.deflections(self.solution)):
                writer.writerows([[name, f"{a:.9g}", f"{b:.9g}"] for a, b in zip(x, w)])
        if self.case.output.plots:
            from .plot import plot_profile
            plot_profile(self, folder / "width_profile.png")

    def history_csv(self, path):
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            names = list(self.records[0].keys()) if self.records else ["iteration"]
            writer.writerow(names)
            writer.writerows([[record[name] for name in names] for record in self.records])

    @staticmethod
    def describe(summary) -> str:
        text = (f"done in {summary['wall_time_s']:.1f} s: total nip force "
                f"{summary['total_load_N'] / 1e3:.3f} kN, line load "
                f"{summary['line_load_min_N_per_mm']:.2f}-{summary['line_load_max_N_per_mm']:.2f}"
                f" N/mm, mid-face gap opening {summary['gap_opening_mm'] * 1e3:.3f} um, exit "
                f"porosity {summary['exit_porosity_mean']:.4f} (spread "
                f"{summary['exit_porosity_spread_pp']:.3f} pp)")
        if summary.get("wrinkling"):
            text += "; WRINKLING: a compressed zone exceeds its buckling stress"
        crown = summary.get("crown_optimum")
        if crown and crown["found"]:
            text += (f"; best {crown['shape']} crown {crown['amplitude_on_diameter_mm'] * 1e3:.2f}"
                     f" um on the diameter (spread {crown['exit_porosity_spread_pp']:.3f} pp)")
        elif crown:
            text += f"; no {crown['shape']} crown found (summary.json: crown_optimum.reason)"
        return text


__all__ = ["CalenderWidth", "rms_spread"]
