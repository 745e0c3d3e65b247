"""Errors a constitutive law raises when it cannot do its job at some material points."""
from __future__ import annotations

import numpy as np


class MaterialPointError(RuntimeError):
    """The local return map failed at some points even after sub-stepping.

    The global Newton should cut the load step back. ``points`` holds the indices of the failed
    points in the batch that was passed to ``update``.
    """

    def __init__(self, law: str, points: np.ndarray, n_points: int, detail: str = ""):
        self.law = law
        self.points = np.asarray(points)
        self.n_failed = int(self.points.size)
        message = (f"{law}: local return map failed at {self.n_failed} of {n_points} material "
                   f"points (first: {self.points[:5].tolist()})")
        if detail:
            message += f"; {detail}"
        super().__init__(message + " - cut the load step back")


class CardError(ValueError):
    """A material card, or the parameters of an interface law, cannot be used; the message
    names the card (or law), the parameter and what is wrong."""
