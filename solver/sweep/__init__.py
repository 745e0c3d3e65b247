"""Parameter sweep: run one case once per value of a case field, tabulate, fit compaction.

    nipstack sweep CASE --param KEY=V1,V2,... [--set key=value ...] [--out DIR]
                        [--ranks-per-run N] [--fit X_KEY,Y_KEY]
                        [--threshold Y_KEY=LEVEL[@X_KEY] ...]

Each point is the case with `--set KEY=Vi` applied after the other overrides, run by
`nipstack.run` into `DIR/KEY=Vi/` (its own atomic results folder). Every point's case is
validated before the first one runs. The sweep folder itself is written atomically
(`.DIR.partial`, renamed at the end) and holds:

    sweep.csv            one row per point: index, the parameter value, status, every scalar
                         (numeric) summary entry
    sweep.json           the same rows plus the sweep's inputs and the fit
    compaction_fit.json  the compaction-resistance model through the points (with >= 3
                         complete points whose porosity changes): "kind" is "fit" (more
                         points than the 3 parameters; "fitted": true and its R^2) or
                         "interpolation" (exactly 3 points: the curve passes through them
                         whatever they are, so "fitted": false and "r_squared": null);
                         a best curve that is flat (the data change, the model cannot
                         follow them, e.g. porosity rising with a thickness as q) is not
                         written: sweep.json has "fitted": false and the reason
    thresholds           (in sweep.json, with --threshold Y_KEY=LEVEL[@X_KEY]) the value of
                         X_KEY (a summary entry; default the swept parameter) at which the
                         summary entry Y_KEY first reaches LEVEL, interpolated linearly
                         between the two complete points that bracket it, and whether Y_KEY
                         rises monotonically over the points (e.g. the measured line load at
                         which the Li | Cu contact fraction exceeds 0.99)
    compaction_fit.png   the points and the curve, its caveat in the legend
    INCOMPLETE           only if some point stopped early: which ones and why

Compaction-resistance model (Meyer, Bockholt, Haselrieder, Kwade 2017, "Characterization of
the calendering process for compaction of electrodes for lithium-ion batteries",
J. Mater. Process. Technol. 249, 172-178):

    porosity(q) = porosity_min + (porosity_0 - porosity_min) * exp(-q / gamma_c)

q is the compaction load: the line load in N/mm for calendering (Meyer's q_L), the platen
pressure in MPa for a flat press; gamma_c, the compaction resistance, has the unit of q. The
porosities are fractions (-). porosity_0 is the porosity the curve extrapolates to at q = 0,
porosity_min the porosity approached at infinite load.

Parallel layout: MPI.COMM_WORLD is split into size // N groups of N ranks
(`comm.Split(color=rank // N)`); group g runs the points g, g + groups, g + 2 groups, ... in
sequence, each on its N ranks. The rows are gathered to world rank 0, which writes the table and
the fit. Only world rank 0 prints (one ordered stream, as everywhere in nipstack): the step lines
of its own group's points; one line announcing each point, with its group, when the point starts
(rank 0 of every other group sends its announcements to world rank 0, which prints them as they
arrive, between its own step lines, so every point is announced exactly once, within about one
load step of its start); and one line per point when all have finished.

    command.py      the `nipstack sweep` command; a stop (SIGINT/SIGTERM) publishes the sweep
                    folder marked INTERRUPTED (exit 130)
    points.py       the inputs (--param, --fit, --threshold), validating and running the points
    compaction.py   the compaction-resistance model, its fit and plot
    report.py       threshold crossings, sweep.csv, sweep.json, compaction_fit.json/png
"""
from .compaction import MODEL, SOURCE, fit_compaction_resistance
from .points import (check_fit, parse_fit, parse_param, parse_threshold, run_sweep,
                     validate_points, value_text)
from .report import threshold_crossing, write_results

__all__ = ["MODEL", "SOURCE", "check_fit", "fit_compaction_resistance", "parse_fit", "parse_param",
           "parse_threshold", "run_sweep", "validate_points", "value_text",
           "threshold_crossing", "write_results"]
