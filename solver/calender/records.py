"""What a calender run records per converged step: the `CalenderStep`, its line in the log
and its row of history.csv (with the interface statistics under the roll, if the web has
interfaces)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..output import write_table


@dataclass
class CalenderStep:
    step: int
    phase: str
    time: float               # s
    travel: float             # web drawn through the nip (roll surface advance), mm
    closure: float            # roll closure s, mm
    gap: float                # distance between the roll surfaces, mm
    line_load: float          # top roll, N/mm
    line_load_bottom: float   # bottom roll, N/mm
    torque: float             # top roll, N mm/mm
    contact_length: float     # top roll, mm
    newton_iterations: int
    residuals: list = field(default_factory=list)


#: history.csv column of each CalenderStep field: its name with its unit
HISTORY_COLUMNS = {"time": "time_s", "travel": "travel_mm", "closure": "closure_mm",
                   "gap": "gap_mm", "line_load": "line_load_N_per_mm",
                   "line_load_bottom": "line_load_bottom_N_per_mm",
                   "torque": "torque_Nmm_per_mm", "contact_length": "contact_length_mm",
                   "residuals": "relative_residuals"}

#: per-step statistics of each interface under the roll, added to history.csv as
#: <interface>_<key>
INTERFACE_HISTORY_KEYS = ("contact_fraction_under_roll", "closed_fraction_under_roll",
                          "mean_pressure_under_roll_MPa", "max_pressure_MPa",
                          "max_penetration_mm")


def step_message(record: CalenderStep, report) -> str:
    """The step's line in the log."""
    return (f"step {record.step:3d} {record.phase:8s} t={record.time:9.4g} s  "
            f"travel={record.travel:7.3f} mm  gap={record.gap * 1e3:8.3f} um  "
            f"w={record.line_load:8.3f} N/mm  contact={record.contact_length:6.3f} mm  "
            f"newton={report.iterations}  |r|/|f|: "
            + " ".join(f"{r:.1e}" for r in report.residuals))


def write_history(path, records, interface_history, interface_names):
    """history.csv: a row per step, the CalenderStep fields (HISTORY_COLUMNS names) and the
    statistics under the roll of each interface (INTERFACE_HISTORY_KEYS)."""
    names = list(asdict(records[0]).keys())
    extra = [(name, key) for name in interface_names for key in INTERFACE_HISTORY_KEYS]
    header = [HISTORY_COLUMNS.get(name, name) for name in names] \
        + [f"{name}_{key}" for name, key in extra]
    write_table(path, header, ([getattr(record, key) for key in names]
                               + [interface_history[k][name][key] for name, key in extra]
                               for k, record in enumerate(records)))
