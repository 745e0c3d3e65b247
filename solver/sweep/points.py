"""The points of a sweep: the command's inputs (--param, --fit, --threshold), every point's
case validated before anything runs, and the points run on groups of ranks (the parallel
layout and the announcements are in the package docstring)."""
from __future__ import annotations

import math
import numbers
from pathlib import Path

from ..api import load_case
from ..case import CaseError
from ..output import rank_zero
from .compaction import DEFAULT_Y_KEYS, FIT_LOADS, FIT_POROSITIES, SLAB_FIT_POROSITIES


def parse_param(text: str) -> tuple[str, list[float]]:
    """'loading.target=20,40,60' -> ('loading.target', [20.0, 40.0, 60.0]), or CaseError."""
    if "=" not in text:
        raise CaseError(f"--param '{text}': expected KEY=V1,V2,..., e.g. loading.target=20,40,60")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise CaseError(f"--param '{text}': no field name before '='")
    values = []
    for item in raw.split(","):
        try:
            value = float(item)
        except ValueError:
            raise CaseError(f"--param '{text}': value {item.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise CaseError(f"--param '{text}': value {item.strip()!r} is not finite")
        values.append(value)
    if len(set(values)) != len(values):
        raise CaseError(f"--param '{text}': a value is repeated")
    return key, values


def parse_fit(text: str | None) -> tuple[str | None, str | None]:
    """'x_key,y_key' -> (x_key, y_key); None -> (None, None) (the defaults)."""
    if text is None:
        return None, None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise CaseError(f"--fit '{text}': expected X_KEY,Y_KEY, e.g. "
                        "line_load_N_per_mm,exit_porosity")
    return parts[0], parts[1]


def check_fit(fit_keys: tuple[str | None, str | None], key: str, case) -> None:
    """CaseError unless the names of `--fit X,Y` (parse_fit) are what the compaction fit of
    this case's kind can use: X the swept parameter `key` or a compaction load, Y a porosity
    (compaction.FIT_LOADS, FIT_POROSITIES). Checked before any point runs."""
    x_key, y_key = fit_keys
    if x_key is None:
        return
    kind = case.case.kind
    porosities = FIT_POROSITIES.get(kind, ())
    geometry = getattr(case, "geometry", None)
    if kind == "calender" and getattr(geometry, "dimension", 2) == 3:
        porosities = (*porosities, *SLAB_FIT_POROSITIES)
    loads = (key, *FIT_LOADS.get(kind, ()))
    if not porosities:
        raise CaseError(f"--fit '{x_key},{y_key}': a {kind} run has no porosity in its summary, "
                        "so no compaction fit (leave out --fit)")
    if x_key not in loads:
        raise CaseError(f"--fit '{x_key},{y_key}': '{x_key}' is not a compaction load of a "
                        f"{kind} run; X is one of {', '.join(loads)}")
    if y_key not in porosities:
        raise CaseError(f"--fit '{x_key},{y_key}': '{y_key}' is not a porosity of a {kind} "
                        f"run; Y is one of {', '.join(porosities)}")


def parse_threshold(text: str) -> tuple[str, float, str | None]:
    """'Y_KEY=LEVEL[@X_KEY]' -> (y_key, level, x_key or None (the swept parameter)), or
    CaseError. E.g. 'contact_fraction=0.99@line_load_N_per_mm'."""
    example = "interface_copper_lithium_contact_fraction_reached_in_nip=0.99@line_load_N_per_mm"
    if "=" not in text:
        raise CaseError(f"--threshold '{text}': expected Y_KEY=LEVEL[@X_KEY], e.g. {example}")
    key, raw = (part.strip() for part in text.split("=", 1))
    raw, _, x_key = (part.strip() for part in raw.partition("@"))
    try:
        level = float(raw)
    except ValueError:
        raise CaseError(f"--threshold '{text}': level {raw!r} is not a number") from None
    if not key or not math.isfinite(level) or (_ and not x_key):
        raise CaseError(f"--threshold '{text}': expected Y_KEY=LEVEL[@X_KEY] with a finite "
                        f"level, e.g. {example}")
    return key, level, x_key or None


def value_text(value: float) -> str:
    """The value as a TOML number and folder-name part: 20.0 -> '20', 0.06 -> '0.06'."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def point_overrides(key: str, value: float, overrides: list[str]) -> list[str]:
    return [*overrides, f"{key}={value_text(value)}"]


def validate_points(case_path, key: str, values: list[float], overrides: list[str]):
    """Load (and so validate) every point's case before anything runs; returns the cases."""
    cases = []
    for value in values:
        try:
            case = load_case(case_path, point_overrides(key, value, overrides))
        except CaseError as exc:
            raise CaseError(f"--param {key}={value_text(value)}: {exc}") from None
        cases.append(case)
    calender = getattr(cases[0], "calender", None)
    if calender is not None:   # a swept field that the chosen control ignores sweeps nothing
        for field, control in (("calender.line_load", "line_load"), ("calender.gap", "gap")):
            if key == field and calender.control != control:
                raise CaseError(f"--param {key}: calender.control is '{calender.control}', so "
                                f"{key} is not used (add --set calender.control=\"{control}\")")
    return cases


def quantity_unit(key: str, case) -> str:
    """Unit of a parameter or summary key, for the fit report."""
    if key == "loading.target" and case.case.kind == "flat_press":
        return "MPa" if case.loading.control == "pressure" else "mm"
    known = {"calender.line_load": "N/mm", "calender.gap": "mm", "calender.line_speed": "mm/s"}
    if key in known:
        return known[key]
    for suffix, unit in (("_N_per_mm", "N/mm"), ("_MPa", "MPa"), ("_mm", "mm"), ("_s", "s")):
        if key.endswith(suffix):
            return unit
    return "unit of " + key



def _scalars(summary: dict) -> dict:
    return {name: (int(value) if isinstance(value, numbers.Integral) else float(value))
            for name, value in summary.items()
            if isinstance(value, numbers.Real) and not isinstance(value, bool)}


def run_sweep(case_path, key: str, values: list[float], overrides: list[str], out: Path, comm,
              ranks_per_run: int | None = None, log=print) -> list[dict]:
    """Run every point into `out/KEY=V/` (collective on `comm`). Returns the rows, in the order
    of `values`, on rank 0 of `comm` (an empty list elsewhere). Each row: index, KEY (the value),
    status ('complete' or 'incomplete'), exit_code, folder, reason (incomplete only), and the
    scalar summary entries. The caller validates the points first (validate_points). After a
    stop (SIGINT/SIGTERM) no further point starts: the points not run have no row."""
    from mpi4py import MPI

    from .. import interrupt
    from ..api import run

    ranks_per_run = ranks_per_run or comm.size
    if ranks_per_run < 1 or comm.size % ranks_per_run:
        raise CaseError(f"--ranks-per-run {ranks_per_run}: must divide the number of MPI ranks "
                        f"({comm.size})")
    groups = comm.size // ranks_per_run
    group = comm.rank // ranks_per_run
    sub = comm.Split(color=group, key=comm.rank)
    announcements = Announcements(comm, groups, ranks_per_run, len(values), log)
    say = rank_zero(announcements.say, comm)
    say(f"nipstack sweep: {key} = {', '.join(value_text(v) for v in values)} "
        f"({len(values)} points, {groups} group(s) of {ranks_per_run} rank(s))")
    rows = []
    try:
        for index in range(group, len(values), groups):
            if sub.allreduce(interrupt.requested(), op=MPI.MAX):
                break                          # stopped (SIGINT/SIGTERM): no further point
            value = values[index]
            case = load_case(case_path, point_overrides(key, value, overrides))
            folder = Path(out) / f"{key}={value_text(value)}"
            if sub.rank == 0:
                announcements.start(index, f"{key} = {value_text(value)}")
            result = run(case, folder, comm=sub, log=say, warn=say)
            row = {"index": index, key: value, "exit_code": result.exit_code,
                   "folder": folder.name}
            if result.complete:
                row["status"] = "complete"
                row.update(_scalars(result.summary))
            else:
                row["status"] = "incomplete"
                marker = result.folder / result.status.upper()
                if sub.rank == 0 and marker.exists():
                    row["reason"] = marker.read_text().strip()
            rows.append(row)
    finally:
        sub.Free()
    announcements.finish()
    gathered = comm.gather(rows if comm.rank % ranks_per_run == 0 else [], root=0)
    if comm.rank != 0:
        return []
    rows = sorted((row for part in gathered for row in part), key=lambda row: row["index"])
    for row in rows:
        numbers = "  ".join(f"{name}={row[name]:.6g}" for name in DEFAULT_Y_KEYS if name in row)
        log(f"  {key} = {value_text(row[key])}: {row['status']}  {numbers}".rstrip())
    return rows


class Announcements:
    """'sweep point k/n: KEY = V (group g/G, world rank(s) a-b)', printed once per point by
    world rank 0 alone. Rank 0 of another group sends its line to world rank 0 (non-blocking,
    tag ANNOUNCE_TAG on the world communicator, so it never meets the groups' collectives);
    world rank 0 prints what has arrived before each of its own lines (the step lines of its
    group's runs go through `say`), and in finish() waits for the rest. Lines from one group
    arrive in order (MPI does not overtake messages between two ranks)."""

    ANNOUNCE_TAG = 7301

    def __init__(self, comm, groups: int, ranks_per_run: int, points: int, log):
        self.comm, self.groups, self.ranks_per_run = comm, groups, ranks_per_run
        self.points, self.log = points, log
        self.sent = []
        # points of the other groups, announced by message to world rank 0
        self.expected = sum(1 for index in range(points) if index % groups != 0) \
            if comm.rank == 0 else 0

    def line(self, index: int, text: str) -> str:
        if self.groups == 1:
            return f"sweep point {index + 1}/{self.points}: {text}"
        group = index % self.groups
        first, last = group * self.ranks_per_run, (group + 1) * self.ranks_per_run - 1
        ranks = f"world rank {first}" if first == last else f"world ranks {first}-{last}"
        return (f"sweep point {index + 1}/{self.points}: {text} (group {group + 1}/"
                f"{self.groups}, {ranks})")

    def start(self, index: int, text: str):
        """Announce point `index` (called by rank 0 of the group that runs it)."""
        message = self.line(index, text)
        if self.comm.rank == 0:
            self.say(message)
        else:
            self.sent.append(self.comm.isend(message, dest=0, tag=self.ANNOUNCE_TAG))

    def drain(self, wait: bool = False):
        from mpi4py import MPI
        while self.expected and (wait or self.comm.Iprobe(source=MPI.ANY_SOURCE,
                                                           tag=self.ANNOUNCE_TAG)):
            self.log(self.comm.recv(source=MPI.ANY_SOURCE, tag=self.ANNOUNCE_TAG))
            self.expected -= 1

    def say(self, *args, **kwargs):
        """World rank 0's log: the other groups' announcements that have arrived, then this."""
        self.drain()
        self.log(*args, **kwargs)

    def finish(self):
        """Every rank: world rank 0 prints the announcements still to come; the senders
        complete their sends."""
        self.drain(wait=True)
        for request in self.sent:
            request.wait()
        self.sent = []

