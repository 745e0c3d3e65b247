"""`nipstack check --schema`: every field of every kind of case with its default and meaning.

The tables every kind has come first, then one block per kind listing its sections; a section
that another kind has already shown with the same model is named, not repeated (e.g. the
calender's [[layers]] are the flat press's; its [solver] has its own defaults and is shown).
"""
from __future__ import annotations

from typing import get_args, get_origin

from .kinds import KIND_MODELS, Case
from .layers import Profile


def _model_of(annotation):
    """The pydantic model inside an annotation (Model, Model | None, list[Model]), or None."""
    if getattr(annotation, "model_fields", None) is not None:
        return annotation
    for argument in get_args(annotation):
        model = _model_of(argument)
        if model is not None:
            return model
    return None


def _describe(model, prefix: str, indent: str, lines: list[str]):
    for name, info in model.model_fields.items():
        default = "required" if info.is_required() else repr(info.get_default(
            call_default_factory=True))
        lines.append(f"{indent}{name} = {default}   # {info.description}")
        nested = _model_of(info.annotation)
        if nested is not None and nested is not Profile:
            lines.append(f"{indent}[{prefix}{name}]")
            _describe(nested, f"{prefix}{name}.", indent + "  ", lines)


def _header(name: str, info) -> str:
    return f"[[{name}]]" if get_origin(info.annotation) is list else f"[{name}]"


def _section(name: str, info, lines: list[str]):
    model = _model_of(info.annotation)
    lines.append(_header(name, info))
    if model is not None:
        _describe(model, f"{name}.", "  ", lines)


def schema_markdown() -> str:
    """Every field with its default and description, kind by kind (nested tables such as
    layers.waviness and interfaces.constriction included)."""
    lines = ["# every kind"]
    for name, info in Case.model_fields.items():
        _section(name, info, lines)
    shown: dict[tuple[str, object], str] = {}
    for model in KIND_MODELS:
        sections = [name for name in model.model_fields if name not in Case.model_fields]
        lines.append("")
        lines.append(f"# kind = {model.kind!r}: {', '.join(sections)}")
        for name in sections:
            info = model.model_fields[name]
            key = (name, _model_of(info.annotation))
            if key in shown:
                lines.append(f"{_header(name, info)}   (as for kind = {shown[key]!r})")
                continue
            shown[key] = model.kind
            _section(name, info, lines)
    lines.append("")
    lines.append("[profile]   (layers.waviness, interfaces.roughness, interfaces.shape)")
    _describe(Profile, "profile.", "  ", lines)
    return "\n".join(lines)
