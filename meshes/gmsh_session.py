"""A Gmsh model to build a mesh in, inside whatever Gmsh session there is.

Every mesh builder (``layered``, ``stack``, ``nipstack.constriction``) builds its model on rank 0
and hands it to ``dolfinx.io.gmsh.model_to_mesh``; around that it needs the same bookkeeping,
kept here: start Gmsh if no caller has (and then put nipstack's signal handlers back, which
``gmsh.initialize`` replaces), silence the terminal, and afterwards remove the model and stop
Gmsh again, or give a caller's session back the options the builder changed.
"""
from __future__ import annotations

from contextlib import contextmanager

from ..interrupt import reinstall as reinstall_signal_handlers


@contextmanager
def gmsh_model(name: str, restore_options: tuple[str, ...] = ()):
    """A new Gmsh model `name` (the gmsh.model API object) for the duration of the block.

    Gmsh is initialised here if it was not (not interruptible: nipstack's own SIGINT/SIGTERM
    handlers are reinstalled, so a stop request still marks the results folder) and finalised
    at the end. In a caller's session the options named in `restore_options` get back the
    values they had; General.Terminal is set to 0 (quiet) either way."""
    import gmsh

    initialised_here = not gmsh.isInitialized()
    if initialised_here:
        gmsh.initialize(interruptible=False)
        reinstall_signal_handlers()   # gmsh resets SIGTERM; keep nipstack's clean stop
    saved = {option: gmsh.option.getNumber(option) for option in restore_options}
    gmsh.option.setNumber("General.Terminal", 0)
    model = gmsh.model()
    model.add(name)
    try:
        yield model
    finally:
        model.remove()
        if initialised_here:
            gmsh.finalize()
        else:
            for option, value in saved.items():
                gmsh.option.setNumber(option, value)
