"""The crown that makes the exit porosity uniform across the lane, for a given total load.

Both rolls get the same crown of one shape (parabolic A (1 - (2x/F)^2) or cosine
A cos(pi x / F), A on the diameter, so the gap closes by A at the face centre relative to the
face edges), replacing their own. For each amplitude A the coupled model is solved at the
total load F (load control), and

    spread(A) = sqrt( int (phi(x) - phi_mean)^2 dx / int dx )      (the lane's RMS deviation)

(a double-sided web: the root mean square of its two faces' spreads) is minimised over A in
[-limit, +limit] by Brent's bounded scalar minimisation
(scipy.optimize.minimize_scalar, method 'bounded'; Brent, Algorithms for Minimization without
Derivatives, 1973). The RMS deviation is smooth in A where the peak-to-peak spread is not; both
are reported. A thinner edge zone or a porosity profile that a smooth crown cannot follow leaves
a residual spread: that is part of the answer.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from .model import WidthSolveError, crown_function
from .response import ResponseError


def rms_spread(x: np.ndarray, porosity: np.ndarray) -> float:
    mean = np.trapezoid(porosity, x) / np.ptp(x)
    return float(np.sqrt(np.trapezoid((porosity - mean) ** 2, x) / np.ptp(x)))


def faces_spread(x: np.ndarray, values: dict) -> float:
    """The RMS spread of the exit porosity, over both faces of a double-sided web."""
    faces = [values[name] for name in ("exit_porosity", "bottom_exit_porosity")
             if name in values]
    return float(np.sqrt(np.mean([rms_spread(x, phi) ** 2 for phi in faces])))


def crown_vector(model, shape: str, amplitude: float) -> np.ndarray:
    """The two rolls' radius excess at the lane points for this crown."""
    from ..case import CrownSpec

    spec = CrownSpec(kind=shape, amplitude=amplitude)
    return sum(crown_function(spec, roll.geometry.face_length)(model.web.x)
               for roll in model.rolls)


def optimise_crown(model, total_load: float, shape: str, limit: float,
                   tolerance: float = 1e-10) -> dict:
    """The amplitude (mm on the diameter) minimising the RMS porosity spread at `total_load`.
    The model's own crown is restored afterwards. A crown the response table cannot answer
    for (every amplitude tried leaves it, e.g. a load near the table's largest reduction) is
    not an error of the run: the result then has found = False and the reason."""
    own = model.crown.copy()
    evaluations, failures = [], []

    def spread(amplitude):
        model.crown = crown_vector(model, shape, amplitude)
        try:
            solution = model.solve(total_load=total_load, tolerance=tolerance)
        except (WidthSolveError, ResponseError) as error:
            failures.append(str(error))
            return 1.0                                   # outside the table: a poor crown
        value = faces_spread(model.web.x, solution.values)
        evaluations.append((float(amplitude), value))
        return value

    try:
        result = minimize_scalar(spread, bounds=(-limit, limit), method="bounded",
                                 options={"xatol": 1e-6})
        if not evaluations:
            return crown_not_found(shape, total_load, f"every {shape} crown tried between "
                                   f"{-limit:g} and {limit:g} mm takes the nip beyond the "
                                   f"response table at {total_load:.6g} N (the last one: "
                                   f"{failures[-1]}); give a smaller width.crown_limit or "
                                   f"larger width.reductions")
        best = float(result.x)        # the best amplitude tried (a solved one: spread < 1)
        model.crown = crown_vector(model, shape, best)
        solution = model.solve(total_load=total_load, tolerance=tolerance)
    except (WidthSolveError, ResponseError) as error:
        return crown_not_found(shape, total_load, str(error), len(evaluations))
    finally:
        model.crown = own
    porosity = solution.values["exit_porosity"]
    at_limit = abs(abs(best) - limit) < 1e-3 * limit
    faces = {}
    if "bottom_exit_porosity" in solution.values:          # a double-sided web
        bottom = solution.values["bottom_exit_porosity"]
        faces = {"bottom_exit_porosity_rms_spread": rms_spread(model.web.x, bottom),
                 "bottom_exit_porosity_spread_pp": float(100 * np.ptp(bottom))}
    return {"shape": shape, "found": True, "amplitude_on_diameter_mm": best,
            "total_load_N": total_load,
            "exit_porosity_rms_spread": rms_spread(model.web.x, porosity),
            "exit_porosity_spread_pp": float(100 * np.ptp(porosity)), **faces,
            "line_load_spread_N_per_mm": float(np.ptp(solution.q)),
            "at_limit": at_limit, "evaluations": len(evaluations),
            "solution": solution}


def crown_not_found(shape: str, total_load: float, reason: str, evaluations: int = 0) -> dict:
    """The optimiser's result when it found no crown: why, and no solution."""
    return {"shape": shape, "found": False, "reason": reason, "total_load_N": total_load,
            "evaluations": evaluations, "solution": None}
