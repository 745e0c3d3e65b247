"""What a run writes into its results folder (``results_folder.ResultsFolder`` makes the folder
safe): fields for ParaView (``fields``), interface point datasets (``fields``), summary.json and
history.csv (``tables``), and plots (``plots``, with the honest colour scales and tick labels of
``scales``). ``log.rank_zero``: only rank 0 prints."""
from .fields import (FIELD_UNITS, INTERFACE_POINT_FIELDS, TIE_OFFSET_S, FieldWriter,
                     InterfaceFieldWriter, interface_field_writer, keep_fields_before_resume,
                     read_collection, write_interface_points)
from .log import nothing, rank_zero
from .plots import gather_cell_polygons, plot_porosity_field, plot_pressure_thickness
from .scales import (FEW_GAUSS_POINTS, POROSITY_MIN_SPAN, UNIFORM_RTOL, ColourScale,
                     fit_verdict, gauss_point_note, plain_ticks, profile_limits, tick_labels,
                     uniform_to_roundoff)
from .tables import FLAT_PRESS_HISTORY, table_cell, write_history, write_summary, write_table

__all__ = [
    "FIELD_UNITS", "INTERFACE_POINT_FIELDS", "TIE_OFFSET_S", "FieldWriter",
    "InterfaceFieldWriter", "interface_field_writer", "keep_fields_before_resume",
    "read_collection", "write_interface_points",
    "nothing", "rank_zero",
    "gather_cell_polygons", "plot_porosity_field", "plot_pressure_thickness",
    "FEW_GAUSS_POINTS", "POROSITY_MIN_SPAN", "UNIFORM_RTOL", "ColourScale", "fit_verdict",
    "gauss_point_note", "plain_ticks", "profile_limits", "tick_labels", "uniform_to_roundoff",
    "FLAT_PRESS_HISTORY", "table_cell", "write_history", "write_summary", "write_table",
]
