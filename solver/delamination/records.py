"""One record per converged opening increment of a delamination run, and how Newton
converged over them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DelaminationRecord:
    step: int
    phase: str                        # "load", or "snap" (relaxed at a fixed opening)
    time: float                       # pseudo-time, s
    opening: float                    # DCB: load-point opening; ENF: punch deflection, mm
    load: float                       # reaction P, N (N/mm per unit depth x B)
    crack_length: float               # furthest X with damage 1 (from the load line / pin), mm
    process_zone_tip: float           # furthest X with damage > 0, mm
    compliance_crack_length: float    # a from the CBT compliance, mm
    lefm_load: float                  # closed-form P at crack_length, N
    dissipated_energy: float          # by the interface law, N mm
    external_work: float              # int P d(opening), N mm
    penetration: float                # largest interpenetration of the faces, -min(g_n), mm
    newton_iterations: int
    cutbacks: int                     # failed increments halved since the last record
    residuals: list = field(default_factory=list)


#: history.csv: (DelaminationRecord field, column with its unit)
HISTORY_COLUMNS = [
    ("step", "step"), ("phase", "phase"), ("time", "time_s"), ("opening", "opening_mm"),
    ("load", "load_N"), ("crack_length", "crack_length_mm"),
    ("process_zone_tip", "process_zone_tip_mm"),
    ("compliance_crack_length", "compliance_crack_length_mm"), ("lefm_load", "lefm_load_N"),
    ("dissipated_energy", "dissipated_energy_Nmm"), ("external_work", "external_work_Nmm"),
    ("penetration", "penetration_mm"), ("newton_iterations", "newton_iterations"),
    ("cutbacks", "cutbacks"), ("residuals", "relative_residuals")]

#: load_displacement.csv: (DelaminationRecord field, unit)
CURVE_COLUMNS = [
    ("opening", "mm"), ("load", "N"), ("crack_length", "mm"), ("process_zone_tip", "mm"),
    ("compliance_crack_length", "mm"), ("lefm_load", "N"), ("dissipated_energy", "Nmm"),
    ("external_work", "Nmm")]


def quadratic_convergence(records, small: float = 1e-2, floor: float = 1e-9,
                          constant: float = 10.0) -> dict:
    """How Newton converged on the records (relative residuals r_k after the first
    iteration): a pair (r_k, r_k+1) with floor < r_k <= small is quadratic if
    r_k+1 <= max(constant r_k^2, floor) (`floor`: above the thin band's round-off, ~1e-11).
    Returns the number of such pairs, the fraction that is quadratic, and the fraction of
    steps whose last pair is (with contact or damage switching inside a step the first
    iterations hunt for the active set; once it is found the rate must be quadratic)."""
    pairs = quadratic = steps = terminal = 0
    for record in records:
        r = list(record.residuals[1:])
        last = None
        for a, b in zip(r, r[1:]):
            if floor < a <= small:
                ok = b <= max(constant * a * a, floor)
                pairs += 1
                quadratic += ok
                last = ok
        if last is not None:
            steps += 1
            terminal += last
    return {"pairs": pairs, "quadratic_fraction": quadratic / pairs if pairs else None,
            "terminal_quadratic_fraction": terminal / steps if steps else None}
