"""Roll-nip calendering: a Lagrangian web drawn through two rigid rolls.

                                     top roll (R, surface speed V)
                                         ___
                                       /     \\
    web: coating on foil ------------ > nip  > ------------- (springback after the exit)
                                       \\ ___ /
                                     bottom roll

The web (layers bottom to top, optionally with interfaces between them) is long enough that
the material initially upstream of the contact passes through the whole nip during the run,
enters virgin, is compacted, leaves the contact and springs back. Everything is quasi-static.

Where things live:
- layout.py: configuration, estimated reduction and contact length, mesh along the web;
- model.py: the Calender scenario (web, rolls, Newton, the closing/loading/rolling phases);
- control.py: closure to close to, the gap predictor, line-load control;
- supports.py: guides, nip hold, tensions, winder, guide foundation;
- lamination.py / lamination_summary.py: a web with interface bands (docs/lamination.md);
- profile.py: the web's state along and through it (exit zone, nip surface profile);
- summary.py / outputs.py / records.py: summary.json, the other files, history.csv.
docs/calendering.md describes the scenario and its validation.
"""
from .layout import estimate_reduction, is_dense_plastic, plastic_layer_reduction
from .model import Calender
from .records import HISTORY_COLUMNS, CalenderStep
from .summary import roll_side_densification

__all__ = ["Calender", "CalenderStep", "HISTORY_COLUMNS", "estimate_reduction",
           "is_dense_plastic", "plastic_layer_reduction", "roll_side_densification"]
