"""nipstack: finite-element calendering and cell-stack compaction on DOLFINx.

The Python API (api.py, docs/python-api.md): `nipstack.load_case(path, overrides=None)`,
`nipstack.run(case, output=None, ...)` -> Results, `nipstack.read_results(folder)`. They are
imported on first use, so `import nipstack` stays cheap (no DOLFINx, no pydantic).
"""
__version__ = "0.1.0"

__all__ = ["Results", "load_case", "read_results", "run"]


def __getattr__(name: str):
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'nipstack' has no attribute {name!r}")
