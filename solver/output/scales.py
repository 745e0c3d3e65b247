"""How the plots show a field honestly: a field uniform to round-off is drawn in one colour and
said to be uniform, tick labels carry just the digits that tell the ticks apart, a fit says
whether it is one, and a contact fraction resolved by a few Gauss points says so."""
from __future__ import annotations

import numpy as np

#: a field whose spread (max - min) is at most this times its largest magnitude is uniform to
#: round-off: cell averages of one state differ by ~1e-16 relative, a real gradient by far more
UNIFORM_RTOL = 1e-9
#: porosity maps and profiles span at least this (1 percentage point), so a spread of a few
#: hundredths of a point is not drawn as a full-range gradient; the ticks show the values
POROSITY_MIN_SPAN = 0.01
#: a contact fraction resolved by fewer Gauss points than this (in contact, or out of contact)
#: moves in visible steps of 1/N: the plots say so
FEW_GAUSS_POINTS = 10


def uniform_to_roundoff(values, rtol: float = UNIFORM_RTOL) -> bool:
    """True if the finite `values` differ by no more than rtol times their largest magnitude
    (also for one value, all zeros, or no finite value)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return True
    return float(np.ptp(v)) <= rtol * float(np.max(np.abs(v)))


def tick_labels(ticks, step: float | None = None, exact: bool = True) -> list[str]:
    """Plain (no offset, no exponent) labels with just enough decimals to tell the ticks apart
    and show `step` (default: the smallest tick spacing); `exact`: also enough for each label
    to read as its tick (0.4125, not 0.413), for ticks at round values."""
    ticks = np.asarray(ticks, dtype=float)
    if step is None:
        gaps = np.diff(np.sort(ticks))
        gaps = gaps[gaps > 0]
        step = float(gaps.min()) if gaps.size else 0.0
    scale = float(np.max(np.abs(ticks), initial=0.0))
    if scale and (scale >= 1e5 or scale < 1e-3):        # very large or small: exponent form
        digits = 2 if not step else max(2, int(np.ceil(np.log10(scale / step))) + 1)
        return [f"{t:.{digits}e}" for t in ticks]
    decimals = 0 if not step else max(0, int(np.ceil(-np.log10(step) - 1e-9)))
    while True:      # distinct, and each label reads as its tick (0.4125, not 0.413)
        labels = [f"{t:.{decimals}f}" for t in ticks]
        reads_as_tick = all(abs(float(label) - t) <= 1e-6 * (step or abs(t) or 1.0)
                            for label, t in zip(labels, ticks))
        if (len(set(labels)) == len(labels) and (reads_as_tick or not exact)) \
                or decimals >= 15:
            return labels
        decimals += 1


class ColourScale:
    """The colour range of a field map: vmin, vmax, ticks with their labels, and whether the
    field is uniform to round-off (then it is drawn in one colour and labelled so)."""

    def __init__(self, values, min_span: float = 0.0, rtol: float = UNIFORM_RTOL):
        v = np.asarray(values, dtype=float).ravel()
        v = v[np.isfinite(v)]
        low, high = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        self.low, self.high, self.spread = low, high, high - low
        self.uniform = uniform_to_roundoff(v, rtol)
        centre = 0.5 * (low + high)
        if self.uniform:
            half = max(0.5 * min_span, 1e-3 * abs(centre), 1e-12)
            self.vmin, self.vmax = centre - half, centre + half
            self.ticks = [centre]
            self.labels = [f"{centre:.6g}"]
            return
        span = max(self.spread, min_span)
        self.vmin = min(low, centre - 0.5 * span)
        self.vmax = max(high, centre + 0.5 * span)
        self.ticks = list(_nice_ticks(self.vmin, self.vmax))
        self.labels = tick_labels(self.ticks)

    def describe(self, quantity: str = "", unit: str = "") -> str:
        """'uniform to round-off: 0.326 (spread 5.6e-16)' or 'range 0.4140 to 0.4141'."""
        unit = f" {unit}" if unit and unit != "-" else ""
        if self.uniform:
            return (f"{quantity + ' ' if quantity else ''}uniform to round-off: "
                    f"{0.5 * (self.low + self.high):.6g}{unit} (spread {self.spread:.1e})")
        low, high = tick_labels([self.low, self.high], step=self.spread / 10, exact=False)
        return f"{quantity + ' ' if quantity else ''}range {low} to {high}{unit}"

    def colourbar(self, fig, ax, mappable, label: str):
        """A colour bar with tick labels at the actual values; a uniform field's bar carries
        the one value and says 'uniform to round-off'."""
        from mpl_toolkits.axes_grid1 import make_axes_locatable
        mappable.set_clim(self.vmin, self.vmax)
        bar_axes = make_axes_locatable(ax).append_axes("right", size="3%", pad=0.12)
        bar = fig.colorbar(mappable, cax=bar_axes)   # as tall as the map
        bar.set_ticks(self.ticks, labels=self.labels)
        bar.ax.minorticks_off()
        bar.set_label(label + ("\n(uniform to round-off)" if self.uniform else ""))
        return bar


def _nice_ticks(low: float, high: float, count: int = 6) -> np.ndarray:
    from matplotlib.ticker import MaxNLocator
    ticks = MaxNLocator(nbins=count - 1, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    slack = 1e-12 * abs(high - low)
    inside = ticks[(ticks >= low - slack) & (ticks <= high + slack)]
    return inside if len(inside) >= 2 else np.array([low, high])


def profile_limits(values, min_span: float = 0.0) -> tuple[float, float]:
    """Axis limits for a profile of `values`: at least `min_span` wide, centred on the data,
    with a 5 % margin (a uniform profile sits in the middle)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    low, high = float(v.min()), float(v.max())
    centre = 0.5 * (low + high)
    half = 0.5 * max(high - low, min_span, 1e-3 * abs(centre), 1e-12) * 1.1
    return centre - half, centre + half


def plain_ticks(axis, count: int = 5):
    """At most `count` ticks on a matplotlib Axis, labelled without offset or exponent (a
    range of 1e-4 around 0.41 reads 0.41400, 0.41405, ..., not '+4.14e-1')."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter
    axis.set_major_locator(MaxNLocator(nbins=count - 1, steps=[1, 2, 2.5, 5, 10]))
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)


def fit_verdict(n_points: int, n_parameters: int, values, rtol: float = UNIFORM_RTOL) -> dict:
    """What a least-squares fit of n_parameters to n_points may claim.

    kind: 'fit' (more points than parameters: the fit and its R^2 mean something),
          'interpolation' (n_points == n_parameters: the curve passes through the points
          whatever the data, an R^2 of 1 says nothing: report 'exact interpolation, not a fit'
          and no R^2),
          'too few' (fewer points than parameters: nothing determined),
          'no change' (the data are the same at every point, to round-off: nothing to fit).
    fitted: True only for 'fit'. note: one sentence for the report and the plot."""
    if n_points and uniform_to_roundoff(values, rtol):
        v = np.asarray(values, dtype=float)
        return {"kind": "no change", "fitted": False,
                "note": f"not fitted: the data do not change over the {n_points} point(s) "
                        f"({v[0]:.6g}, spread {float(np.ptp(v)):.1e})"}
    if n_points < n_parameters:
        return {"kind": "too few", "fitted": False,
                "note": f"not fitted: {n_points} point(s) for {n_parameters} parameters "
                        f"(needs at least {n_parameters})"}
    if n_points == n_parameters:
        return {"kind": "interpolation", "fitted": False,
                "note": f"exact interpolation, not a fit: {n_points} points for "
                        f"{n_parameters} parameters, no R^2 (add points for a fit)"}
    return {"kind": "fit", "fitted": True,
            "note": f"least-squares fit: {n_points} points, {n_parameters} parameters"}


def gauss_point_note(fraction: float, n_points: int | None,
                     few: int = FEW_GAUSS_POINTS) -> str | None:
    """A warning when a contact fraction strictly between 0 and 1 rests on fewer than `few`
    Gauss points in contact (or out of contact) of the n_points of the interface, or None."""
    if not n_points or not 0.0 < fraction < 1.0:
        return None
    closed = int(round(fraction * n_points))
    count, state = (closed, "in contact") if closed <= n_points - closed else \
        (n_points - closed, "out of contact")
    if count >= few:
        return None
    return (f"contact fraction {fraction:.3f}: about {count} of {n_points} Gauss points "
            f"{state}; it moves in steps of ~{1.0 / n_points:.3f}: refine the interface "
            "mesh to resolve it")
