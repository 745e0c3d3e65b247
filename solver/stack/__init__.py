r"""Cell-stack compaction: layers with material cards, zero-thickness interfaces, a rigid plate.

    rigid plate (penalty contact; pressure control: its position found by Newton or a secant)
      +----------------------------------------+  top
      |  layer n-1                             |
      +========================================+  interface (band: contact / cohesive / bonded)
      |  ...                                   |
      +----------------------------------------+  bottom: rollers (u_y = 0)
    lateral faces: rollers ("confined", uniaxial strain of a wide stack), "free" (one corner
    held in x [and z]), or "symmetric" (rollers on the left face only)

The stack is meshed by ``meshes.stack.build_stack`` (structured, degree 1: see
``nipstack.interfaces`` for why) and every listed interface becomes a thin band on which an
interface law acts (``nipstack.interfaces.InterfaceTerm``). Units mm, N, MPa, s; in 2D forces
are per unit depth (N/mm). The modules, in the order a run uses them:

  settings   StackSettings: tolerances and limits (defaults: the case schema's)
  model      StackCompaction, LayerSpec: layers, interfaces, plate, boundary conditions, measures
  loading    the programme: seat, load / compress, hold, pressure history, unload, release
  pressure   one step: plate position or pressure (bordered Newton or secant), AL loop
  records    StackRecord, summary, history.csv, interface profiles, contact_loss_time
  patches    contact intervals / patches / strip count and their constriction resistance
  plots      the case's plots
  scenario   StackCase: a case file (kind = "stack") as a scenario of ``nipstack.run``

How the solve was tuned, and what was measured on the shipped cases: docs/stacks.md.
"""
from ..interface_laws import InterfaceSpec
from .model import LayerSpec, StackCompaction
from .patches import contact_intervals, contact_patches, equivalent_strip_count
from .records import StackRecord, contact_loss_time, plastic_hardness
from .scenario import StackCase
from .settings import StackSettings

__all__ = ["InterfaceSpec", "LayerSpec", "StackCase", "StackCompaction", "StackRecord",
           "StackSettings", "contact_intervals", "contact_loss_time", "contact_patches",
           "equivalent_strip_count", "plastic_hardness"]
