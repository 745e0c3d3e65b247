"""nipstack: finite-element calendering and cell-stack compaction on DOLFINx."""
__version__ = "0.1.0"
