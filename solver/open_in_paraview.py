"""Open a nipstack results folder in ParaView: porosity on the deformed mesh, interfaces shown.

nipstack copies this script into every results folder that has fields. Use it from the folder:

    paraview --script=open_in_paraview.py                  the ParaView window, set up
    pvpython open_in_paraview.py --screenshot view.png     (or pvbatch) a picture, no window
    xvfb-run -a pvpython open_in_paraview.py --screenshot view.png   the same on a machine
                                                           with no display (Debian's ParaView
                                                           needs an X display even for a
                                                           screenshot: without one it crashes,
                                                           so the script stops first and says so)

What it sets up (ParaView 5.10 or newer, paraview.simple only):
  * fields/fields.pvd, moved by its `displacement_mm` array (Warp By Vector, true scale),
    coloured by `porosity` (cell data) over the range of the porous cells (at least one
    percentage point wide), the dense layers (porosity 0, below the range) in grey;
  * every fields/interface_*.pvd (the interfaces at their quadrature points, true values), moved
    the same way, drawn as points coloured by `interface_pressure_MPa`;
  * the last time step (with interfaces: the step of the peak interface pressure), the view
    from +z for a 2D section.
The region of each cell is in the `region_id` array (names in fields/regions.json).

This file is a ParaView script, not part of the nipstack package's API: it imports
paraview.simple, which only ParaView's own Python has.
"""
import glob
import os
import sys

NO_DISPLAY = ("open_in_paraview.py: no display (DISPLAY and WAYLAND_DISPLAY are unset), and "
              "ParaView needs one even for a screenshot (without one it crashes); run it "
              "under a virtual display: xvfb-run -a pvpython open_in_paraview.py --screenshot "
              "FILE.png")


def display_missing(arguments, environment, platform) -> bool:
    """True if a screenshot is asked for on Linux with no X or Wayland display."""
    return "--screenshot" in arguments and platform.startswith("linux") and \
        not (environment.get("DISPLAY") or environment.get("WAYLAND_DISPLAY"))


if display_missing(sys.argv[1:], os.environ, sys.platform):    # before ParaView is loaded
    print(NO_DISPLAY, file=sys.stderr)
    sys.exit(2)

import numpy  # noqa: E402

from paraview.simple import (ColorBy, Delete, GetActiveViewOrCreate, GetAnimationScene,
                             GetColorTransferFunction, GetScalarBar, PVDReader, Render,
                             ResetCamera, SaveScreenshot, Show, Transform, UpdatePipeline,
                             WarpByVector)  # noqa: E402

try:
    HERE = os.path.dirname(os.path.abspath(__file__))
except NameError:            # `paraview --script` may run it without __file__
    HERE = os.getcwd()
FIELDS = os.path.join(HERE, "fields")
#: the porosity colour range spans at least this (1 percentage point), as nipstack's pictures
MIN_POROSITY_SPAN = 0.01


def warped(path):
    reader = PVDReader(registrationName=os.path.basename(path), FileName=path)
    warp = WarpByVector(registrationName=os.path.basename(path)[:-4] + " (deformed)",
                        Input=reader)
    warp.Vectors = ["POINTS", "displacement_mm"]
    warp.ScaleFactor = 1.0
    return reader, warp


def peak_time(paths):
    """The time of the largest interface pressure over the interface datasets `paths`."""
    best = (-float("inf"), 0.0)
    for path in paths:
        reader = PVDReader(registrationName=os.path.basename(path) + " (scan)", FileName=path)
        for time in reader.TimestepValues:
            reader.UpdatePipeline(time)
            best = max(best, (reader.PointData["interface_pressure_MPa"].GetRange()[1], time))
        Delete(reader)
    return best[1]


def porous_range(source, time):
    """(min, max) of the cell porosity over the porous cells (porosity > 0) at `time`."""
    from paraview import servermanager
    from vtk.numpy_interface import dataset_adapter as dsa
    source.UpdatePipeline(time)
    values = numpy.concatenate([numpy.asarray(block).ravel() for block in
                                _blocks(dsa.WrapDataObject(servermanager.Fetch(source))
                                        .CellData["porosity"])])
    porous = values[values > 0.0]
    return (float(porous.min()), float(porous.max())) if porous.size else (0.0, 1.0)


def _blocks(array):
    return getattr(array, "Arrays", [array])      # a composite data set has one per block


def colour_bar(bar, title, unit, x):
    """A vertical colour bar at x (fraction of the view width) with its title and unit."""
    bar.Title, bar.ComponentTitle = title, unit
    bar.WindowLocation = "Any Location"
    bar.Orientation = "Vertical"
    bar.Position = [x, 0.2]
    bar.ScalarBarLength = 0.6
    bar.TitleFontSize = bar.LabelFontSize = 14
    bar.RangeLabelFormat = "%-#.4g"


def main(screenshot=None):
    view = GetActiveViewOrCreate("RenderView")
    volume_reader, volume = warped(os.path.join(FIELDS, "fields.pvd"))
    scene = GetAnimationScene()
    scene.UpdateAnimationUsingDataTimeSteps()
    last = volume_reader.TimestepValues[-1] if volume_reader.TimestepValues else 0.0
    interfaces = sorted(glob.glob(os.path.join(FIELDS, "interface_*.pvd")))
    shown_time = peak_time(interfaces) if interfaces else last
    scene.AnimationTime = shown_time
    shown = Show(volume, view)
    ColorBy(shown, ("CELLS", "porosity"))
    low, high = porous_range(volume, shown_time)
    half = max(0.5 * (high - low), 0.5 * MIN_POROSITY_SPAN)      # no round-off checkerboard
    porosity = GetColorTransferFunction("porosity")
    porosity.RescaleTransferFunction(0.5 * (low + high) - half, 0.5 * (low + high) + half)
    porosity.AutomaticRescaleRangeMode = "Never"
    porosity.UseBelowRangeColor = 1                # dense layers (porosity 0) in grey
    porosity.BelowRangeColor = [0.6, 0.6, 0.6]
    shown.SetScalarBarVisibility(view, True)
    colour_bar(GetScalarBar(porosity, view), "porosity", "(-; grey: dense, 0)", 0.78)
    for path in interfaces:
        _, moved = warped(path)
        interface = Transform(registrationName=os.path.basename(path)[:-4] + " (in front)",
                              Input=moved)     # a hair towards the camera: not hidden
        interface.Transform.Translate = [0.0, 0.0, 1e-4]   # behind the section's faces
        points = Show(interface, view)
        UpdatePipeline(time=shown_time, proxy=interface)
        points.SetRepresentationType("Points")
        points.PointSize = 6.0
        points.RenderPointsAsSpheres = 1
        ColorBy(points, ("POINTS", "interface_pressure_MPa"))
        points.RescaleTransferFunctionToDataRange(False, True)
        points.SetScalarBarVisibility(view, True)
        colour_bar(GetScalarBar(GetColorTransferFunction("interface_pressure_MPa"), view),
                   "interface pressure", "(MPa)", 0.05)
    bounds = volume.GetDataInformation().GetBounds()
    if bounds[5] - bounds[4] <= 0.0:          # a 2D section: look at it from +z
        view.InteractionMode = "2D"
        view.CameraPosition = [0.0, 0.0, 1.0]
        view.CameraFocalPoint = [0.0, 0.0, 0.0]
        view.CameraViewUp = [0.0, 1.0, 0.0]
    ResetCamera(view)
    Render(view)
    if screenshot:
        SaveScreenshot(screenshot, view, ImageResolution=[1200, 600])


if __name__ in ("__main__", "__vtkconsole__") or "paraview" in sys.argv[0]:
    arguments = sys.argv[1:]
    target = arguments[arguments.index("--screenshot") + 1] \
        if "--screenshot" in arguments else None
    main(target)
