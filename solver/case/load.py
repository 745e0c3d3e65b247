"""Reading a case file: TOML, `--set` overrides, validation into the kind's model, and the
paths it names (material cards, a user's mesh) resolved from the case file's folder.

A malformed case raises CaseError with one message naming the file and the field; the CLI
turns it into exit code 2 with no traceback and no results folder.
"""
from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

from pydantic import ConfigDict, ValidationError

from .base import CaseError, CaseInfo, StrictModel
from .kinds import CASE_MODELS, CalenderWidthCase, Case, DelaminationCase, FlatPressCase


class CaseHeader(StrictModel):
    """The [case] table alone, read first: it names the kind the rest is validated as."""

    model_config = ConfigDict(extra="ignore")
    case: CaseInfo


def _problem(exc: ValidationError, source: str, kind: str | None = None) -> CaseError:
    """The first problem of a validation as one message: `source: field 'a.b': what`.
    Errors of a kind's model carry the kind as the first part of their location."""
    errors = exc.errors()
    first = errors[0]
    location = first["loc"][1:] if kind else first["loc"]
    where = ".".join(str(part) for part in location)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing" and len(location) == 1 and kind:
        section = location[0]
        table = f"[[{section}]]" if section == "layers" else f"[{section}]"
        message = f"required: a {kind} case needs a {table} table"
    got = first.get("input")
    got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    extra = f" [{len(errors) - 1} more problem(s)]" if len(errors) > 1 else ""
    field = f"field '{where}': " if where else ""
    return CaseError(f"{source}: {field}{message}{got_text}{extra}")


def validate_case(data: dict, source: str = "case") -> Case:
    """The case model of `data` (a parsed case file), or CaseError naming `source` and the
    field: the [case] table first, then the model of its kind."""
    try:
        kind = CaseHeader.model_validate(data).case.kind
    except ValidationError as exc:
        raise _problem(exc, source) from None
    try:
        return CASE_MODELS.validate_python(data)
    except ValidationError as exc:
        raise _problem(exc, source, kind) from None


def apply_override(data: dict, assignment: str):
    """Apply one `--set key=value` (dotted key, list items by index; the value is TOML, or a
    bare string) to the parsed case `data`."""
    if "=" not in assignment:
        raise CaseError(f"--set '{assignment}': expected key=value, e.g. loading.target=0.06")
    key, raw = assignment.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare string
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _read_toml(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"cannot read case file '{path}': {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError(f"case file '{path}' is not a text file (not UTF-8 at byte "
                        f"{exc.start})") from None
    if "\x00" in text:
        raise CaseError(f"case file '{path}' is not a text file (it holds NUL bytes)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"case file '{path}' is not valid TOML: {_toml_problem(text, exc)}"
                        ) from None


def load_case(path: str | Path, overrides: list[str] | None = None) -> Case:
    """Read, override and validate a case file, or raise CaseError naming what is wrong."""
    path = Path(path)
    data = _read_toml(path)
    for assignment in overrides or []:
        try:
            apply_override(data, assignment)
        except CaseError:
            raise
        except (IndexError, ValueError, TypeError, AttributeError):
            raise CaseError(f"--set '{assignment}': no such field in '{path}'") from None
    case = validate_case(data, f"case file '{path}'")
    _resolve_card_paths(case, path)
    _check_materials(case, path)
    if isinstance(case, CalenderWidthCase):
        _check_width_web(case, path)
        _check_width_table(case, path)
    if isinstance(case, FlatPressCase):
        _resolve_mesh_file(case, path)
    return case


def _next_to_case(folder: Path, material: str) -> str:
    """A material given as a relative path to a .toml card is looked up next to the case file
    first (then, as before, from the working directory): a case and its own cards can be
    moved together."""
    given = Path(material)
    if given.suffix == ".toml" and not given.is_absolute() and (folder / given).is_file():
        return str(folder / given)
    return material


def _resolve_card_paths(case: Case, case_path: Path):
    folder = case_path.resolve().parent
    for spec in getattr(case, "layers", []):
        spec.material = _next_to_case(folder, spec.material)
    if isinstance(case, DelaminationCase) and case.delamination.arm_material:
        case.delamination.arm_material = _next_to_case(folder, case.delamination.arm_material)


def _resolve_mesh_file(case: FlatPressCase, case_path: Path):
    """geometry.mesh_file as an absolute path (from the case file's folder), or CaseError."""
    given = case.geometry.mesh_file
    if given is None:
        return
    mesh_path = Path(given).expanduser()
    if not mesh_path.is_absolute():
        mesh_path = case_path.resolve().parent / mesh_path
    if not mesh_path.is_file():
        raise CaseError(f"case file '{case_path}': field 'geometry.mesh_file': no file "
                        f"'{mesh_path}'")
    from ..meshes.external import MeshFileError, check_mesh_file
    try:
        check_mesh_file(mesh_path, case.layers, case.geometry.dimension)
    except MeshFileError as exc:
        raise CaseError(f"case file '{case_path}': field 'geometry.mesh_file': {exc}") \
            from None
    case.geometry.mesh_file = str(mesh_path)


def _check_materials(case: Case, path: Path):
    from ..materials.cards import CardError, load_card

    for index, layer in enumerate(getattr(case, "layers", [])):
        try:
            load_card(layer.material, overrides=layer.card_overrides())
        except CardError as exc:
            raise CaseError(f"case file '{path}': field 'layers.{index}.material': {exc}") from None
    if not isinstance(case, DelaminationCase) or case.delamination.arm_material is None:
        return
    arm = case.delamination.arm_material
    try:
        law = load_card(arm)
    except CardError as exc:
        raise CaseError(f"case file '{path}': field 'delamination.arm_material': {exc}"
                        ) from None
    if getattr(law, "name", "") != "elastic":
        raise CaseError(f"case file '{path}': field 'delamination.arm_material': the arms "
                        f"must be elastic (card '{arm}' is '{law.name}')")


def entry_porosity(layer, law) -> float:
    """A layer's entry porosity: its own `initial_porosity`, else its card's."""
    porosity = layer.initial_porosity
    return float(porosity if porosity is not None else law.initial_porosity)


def bottom_porosity_offset(case, laws=None) -> float:
    """How much more porous a double-sided width web's coating under the foil (layer 0)
    enters than its top coating: the difference of their nominal entry porosities (0 for a
    web of fewer than three layers). The response table's porosity axis is the top face's; the
    bottom face enters at that porosity plus this offset at every cross-section."""
    layers = case.layers
    if len(layers) != 3:
        return 0.0
    laws = laws if laws is not None else layer_laws(layers)
    top, bottom = layers[-1], layers[0]
    return entry_porosity(bottom, laws[bottom.name]) - entry_porosity(top, laws[top.name])


def _check_width_web(case: CalenderWidthCase, path: Path):
    """The width model's web: a porous coating on top (on a foil, or a film alone), and on a
    three-layer web a porous coating under the foil too. Without its own porosity profile
    (`width.bottom_coating_porosity`) the face under the foil enters at the top face's porosity
    plus the difference of the two nominal entry porosities, which must stay a porosity
    (between 0 and 1) wherever the top face's profile and the table's axis go. Its own
    profiles need a face under the foil, and give thicknesses > 0 and porosities in (0, 1)."""
    laws = layer_laws(case.layers)
    layers = case.layers
    spec = case.width
    faces = [len(layers) - 1] + ([0] if len(layers) == 3 else [])
    for index in faces:
        if not entry_porosity(layers[index], laws[layers[index].name]) > 0:
            raise CaseError(f"case file '{path}': field 'layers.{index}.material': the width "
                            f"model's web is a porous coating on a foil (on one face or both) "
                            f"or a porous film, and '{layers[index].material}' is not porous")
    own = {"bottom_coating_thickness": ("bottom_thicknesses", "a thickness > 0 mm",
                                        lambda v: v > 0.0),
           "bottom_coating_porosity": ("bottom_porosities", "a porosity between 0 and 1",
                                       lambda v: 0.0 < v < 1.0)}
    for name, (axis, what, valid) in own.items():
        table, grid = getattr(spec, name), getattr(spec, axis)
        if (table or grid) and len(faces) == 1:
            given = name if table else axis               # the field the user set
            raise CaseError(f"case file '{path}': field 'width.{given}': the web has no "
                            f"coating under the foil (a double-sided web has three layers: "
                            f"coating, foil, coating)")
        if grid and not table:
            raise CaseError(f"case file '{path}': field 'width.{axis}': the 2D runs take the "
                            f"face under the foil from its own profile only, and "
                            f"'width.{name}' is not given")
        for field, values in ((name, [row[1] for row in table]), (axis, grid)):
            wrong = [v for v in values if not valid(v)]
            if wrong:
                raise CaseError(f"case file '{path}': field 'width.{field}': {wrong[0]:g} is "
                                f"not {what}")
    if len(faces) == 2 and not spec.bottom_coating_porosity:
        offset = bottom_porosity_offset(case, laws)
        tops = [entry_porosity(layers[-1], laws[layers[-1].name]),
                *(row[1] for row in spec.coating_porosity), *spec.porosities]
        lowest, highest = min(tops) + offset, max(tops) + offset
        if not 0.0 < lowest <= highest < 1.0:
            raise CaseError(f"case file '{path}': field 'layers.0.initial_porosity': the "
                            f"coating under the foil enters {offset:+g} more porous than "
                            f"the top coating at every cross-section, which puts it at "
                            f"{lowest:g} to {highest:g} where the top face's porosity profile "
                            f"goes; a porosity must lie between 0 and 1")


def _check_width_table(case: CalenderWidthCase, path: Path):
    """The nodes of the width model's nip response table (its 2D runs), as `nipstack run`
    would build them: coating thicknesses > 0 and porosities in (0, 1); every
    width.reductions value > 0 (given once) and less than the thinnest web of the table, whose
    2D run's roll gap (web thickness - reduction) must stay open; and each of the other axes
    covering the web's profile across the lane (the table is not extrapolated)."""
    from ..width.model import Web
    from ..width.response import node_web_thickness, response_grid

    spec = case.width
    for name, what, valid in (("thicknesses", "a thickness > 0 mm", lambda v: v > 0.0),
                              ("porosities", "a porosity between 0 and 1",
                               lambda v: 0.0 < v < 1.0)):
        wrong = [v for v in getattr(spec, name) if not valid(v)]
        if wrong:
            raise CaseError(f"case file '{path}': field 'width.{name}': {wrong[0]:g} is not "
                            f"{what}")
    where = f"case file '{path}': field 'width.reductions'"
    for value in spec.reductions:
        if not value > 0:
            raise CaseError(f"{where}: {value:g} is not a thickness reduction (web thickness - "
                            f"roll gap) > 0 mm")
        if spec.reductions.count(value) > 1:
            raise CaseError(f"{where}: {value:g} is given twice")
    web = Web.from_case(case, layer_laws(case.layers))
    axes = {name: values for name, values in response_grid(spec, web).items()
            if name != "reductions"}
    thinnest = min(node_web_thickness(case, dict(zip(axes, node)))
                   for node in itertools.product(*axes.values()))
    if spec.reductions and max(spec.reductions) >= thinnest:
        largest = max(spec.reductions)
        raise CaseError(f"{where}: {largest:g} mm would close the roll gap of the thinnest web "
                        f"the 2D runs take ({thinnest:.6g} mm thick, to "
                        f"{thinnest - largest:.6g} mm); each reduction must lie between 0 and "
                        f"{thinnest:.6g} mm")
    coordinates = web.coordinates()
    for name, values in axes.items():
        across = coordinates[name]
        if across.min() < min(values) - 1e-9 or across.max() > max(values) + 1e-9:
            raise CaseError(f"case file '{path}': field 'width.{name}': the 2D runs' "
                            f"{_span(min(values), max(values))} do not cover the web's "
                            f"{_span(across.min(), across.max())} across the lane")


def _span(low: float, high: float) -> str:
    return f"{low:.6g}" + (f" to {high:.6g}" if high > low else "")


def _toml_problem(text: str, exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message, with the key named where it only gives a position (a key or table
    given twice)."""
    message = str(exc)
    line_number = getattr(exc, "lineno", None)
    if line_number is None:
        found = re.search(r"line (\d+)", message)
        line_number = int(found.group(1)) if found else None
    if line_number is None or not ("overwrite" in message or "declare" in message):
        return message
    lines = text.splitlines()
    line = lines[line_number - 1].strip() if 0 < line_number <= len(lines) else ""
    table = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?(\s*#.*)?", line)
    if table:
        return f"table [{table.group(1)}] is defined twice (line {line_number})"
    key = line.split("=", 1)[0].strip() if "=" in line else line
    section = ""
    for previous in reversed(lines[:line_number - 1]):
        header = re.fullmatch(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?", previous)
        if header:
            section = header.group(1) + "."
            break
    return f"key '{section}{key}' is given twice (line {line_number})"


def dump_resolved(case: Case) -> str:
    """The case as TOML with every default filled in and every override applied: running it
    repeats the run. Material cards given as paths are written as absolute paths."""
    import tomli_w

    from ..materials.cards import CardError, card_path

    data = case.model_dump(mode="python", exclude_none=True)
    for layer in data.get("layers", []):
        material = layer["material"]
        if material.endswith(".toml") or Path(material).exists():
            try:
                layer["material"] = str(card_path(material))
            except CardError:
                pass
    header = ("# nipstack: the resolved case (every default filled in, every --set applied).\n"
              "# `nipstack run THIS_FILE --out NEW_FOLDER` repeats the run.\n")
    return header + tomli_w.dumps(data)


def layer_laws(layers) -> dict:
    """The constitutive law of every layer, by layer name, from its card (with the layer's
    overrides)."""
    from ..materials.cards import load_card

    return {layer.name: load_card(layer.material, overrides=layer.card_overrides())
            for layer in layers}
