"""Contact patches of an interface and their constriction resistance (seed 003).

A point of an interface is closed when it carries compression (``InterfaceTerm.contact_mask``);
the patches are read from an interface profile (``InterfaceTerm.profile``: rows along x [and
z], each with its area weight and contact indicator).

* 3D: the patches are 4-connected closed columns; their constriction resistance is the Holm
  sum R = 1 / (4 kappa sum a_i), a_i = sqrt(A_i / pi) the radius of the circle of the patch's
  area, with Greenwood's first-order interaction correction.
* 2D: the patches are strips; the closed form of a periodic array of equal strips with the same
  contact fraction and number of patches (``strip_constriction_resistance``; a strip cut by a
  lateral symmetry face counts as half a strip), and, with ``laplace = true``, the
  finite-element Laplace solve for the ionic potential in the electrolyte layer (thickness as
  built) with the patches as its only conducting boundary (``laplace_constriction``).
Resistances are reported area-specific (ohm cm^2, the unit cell engineers compare), for the
modelled apparent area.
"""
from __future__ import annotations

import numpy as np

from ..constriction import holm_resistance, laplace_constriction, strip_constriction_resistance

OHM_MM2_PER_OHM_CM2 = 100.0
#: 2D: contact islands within this many columns of a patch belong to it (the islands that a
#: contact edge leaves on a discrete interface)
ISLAND_COLUMNS = 4.0


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


def strip_constriction(profile, constriction, width: float, elements_width: int,
                       electrolyte_thickness: float, comm) -> dict:
    """2D: the patches of `profile` (rank 0; None elsewhere) as strips, and their constriction
    resistance: the equal-strip closed form and, with constriction.laplace, the Laplace solve
    (collective)."""
    kappa = constriction.conductivity
    intervals = contact_intervals(profile, width) if comm.rank == 0 else None
    intervals = comm.bcast(intervals, root=0)
    fraction = sum(b - a for a, b in intervals) / width
    n = equivalent_strip_count(intervals, width, ISLAND_COLUMNS * width / elements_width)
    entry = {"patches": n, "contact_intervals": len(intervals), "contact_fraction": fraction}
    if n:
        period = width / n
        strip = float(strip_constriction_resistance(0.5 * fraction * period, 0.5 * period,
                                                    kappa))
        entry["strip_asr_ohm_cm2"] = strip * period / OHM_MM2_PER_OHM_CM2
    if constriction.laplace and n:
        result = laplace_constriction(intervals, kappa, width=width,
                                      thickness=electrolyte_thickness, comm=comm)
        entry.update({
            "laplace_asr_ohm_cm2": result.area_specific_constriction_resistance
            / OHM_MM2_PER_OHM_CM2,
            "laplace_bulk_asr_ohm_cm2": result.bulk_resistance * width / OHM_MM2_PER_OHM_CM2,
            "laplace_dofs": result.dofs})
    return entry


def patch_constriction(profile, constriction, area: float, comm) -> dict:
    """3D: the patches of `profile` (rank 0; None elsewhere) and their Holm (and Greenwood)
    constriction resistance over the apparent `area`."""
    kappa = constriction.conductivity
    patches = contact_patches(profile) if comm.rank == 0 else None
    areas, centres = comm.bcast(patches, root=0)
    radii = np.sqrt(areas / np.pi)
    entry = {"patches": int(len(areas)), "contact_fraction": float(areas.sum() / area),
             "patch_radius_mean_mm": float(radii.mean()) if len(radii) else 0.0}
    if len(radii):
        holm = holm_resistance(radii, kappa)
        entry["holm_asr_ohm_cm2"] = holm * area / OHM_MM2_PER_OHM_CM2
        if len(radii) > 1:
            greenwood = holm_resistance(radii, kappa, centres, "greenwood")
            entry["holm_greenwood_asr_ohm_cm2"] = greenwood * area / OHM_MM2_PER_OHM_CM2
    return entry
