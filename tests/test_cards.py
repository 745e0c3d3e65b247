"""Material cards and interface-law parameters validated by pydantic models (issue 16), seconds.

Every library card loads to the law its TOML says, with exactly the TOML's values (tables as
float arrays) and the law's own defaults for what the card leaves out; a bad card or bad
interface parameters raise one CardError naming the card (or law), the parameter, the value and
what was expected; the admissible ranges the calibration reads (PARAMETERS, TABLES) are the
models' bounds.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from nipstack.materials.card_models import LAW_MODELS, PARAMETERS, TABLES
from nipstack.materials.cards import LAWS, LIBRARY, CardError, list_cards, load_card, parse_card
from nipstack.materials.interface_cards import INTERFACE_MODELS, interface_law_parameters
from nipstack.materials.parameter_models import field_range

CASES = Path(__file__).resolve().parents[1] / "cases"
UNITS = {"MPa", "s", "1/s", "-", "degrees", "mm", "MPa/mm", "N/mm", "mm^3/mol", "mm^2/s",
         "mol/mm^3", "[c]", "1/[c]", "[c]/mm"}


def law_fields(law) -> dict:
    """The constructor arguments of a law dataclass (not its name or output-field table)."""
    return {f.name: f for f in dataclasses.fields(law)
            if f.init and f.name != "name" and f.default_factory is dataclasses.MISSING}


@pytest.mark.parametrize("name", list_cards())
def test_library_card_loads_to_the_values_of_its_toml(name):
    """The law read straight from the TOML: every [parameters] value, every table column as a
    float64 array, every other constructor argument at the law class's own default."""
    with open(LIBRARY / f"{name}.toml", "rb") as stream:
        data = tomllib.load(stream)
    law = load_card(name)
    assert type(law) is LAWS[data["material"]["law"]]
    assert law.card_name == data["material"]["name"]
    assert law.description == data["material"]["description"]
    assert law.sources == data["sources"]
    parameters = data["parameters"]
    for key, field in law_fields(law).items():
        value = getattr(law, key)
        if key not in parameters:
            assert value == field.default, key
        elif isinstance(parameters[key], dict):
            assert list(value) == list(parameters[key]), key
            for column, array in parameters[key].items():
                assert value[column].dtype == np.float64
                assert np.array_equal(value[column], np.array(array, dtype=float)), column
        else:
            assert type(value) is float and value == parameters[key], key
    assert set(parameters) <= set(law_fields(law)), "a card parameter the law does not take"


def dpc_card():
    parameters = {"initial_porosity": 0.4, "solid_youngs_modulus": 5000.0,
                  "gibson_ashby_exponent": 2.0, "poisson_ratio": 0.25, "cohesion": 1.0,
                  "friction_angle": 60.0, "cap_eccentricity": 0.5,
                  "hardening_table": {"compaction_strain": [0.0, 0.2, 0.4],
                                      "cap_pressure": [2.0, 20.0, 80.0]}}
    return {"material": {"name": "t", "law": "dpc", "description": "test powder"},
            "parameters": parameters, "sources": {key: "x" for key in parameters}}


def broken(change):
    card = dpc_card()
    change(card)
    return card


@pytest.mark.parametrize("card, overrides, words", [
    (broken(lambda c: c["parameters"].update(poisson_ratio=0.5)), None,
     ["'t'", "parameter 'poisson_ratio' = 0.5", "in (-1, 0.5)", "Poisson's ratio"]),
    (broken(lambda c: c["parameters"].update(friction_angle="sixty")), None,
     ["'friction_angle' = 'sixty'", "a finite number in [0, 90)", "degrees"]),
    (broken(lambda c: c["parameters"]["hardening_table"].update(cap_pressure=[2.0, -1, 8.0])),
     None, ["'hardening_table.cap_pressure[1]' = -1", "> 0", "MPa"]),
    (broken(lambda c: c["parameters"]["hardening_table"].update(pressure=[1.0, 2.0, 3.0])),
     None, ["unknown key 'hardening_table.pressure'", "cap_pressure, compaction_strain"]),
    (broken(lambda c: c["parameters"]["hardening_table"].pop("cap_pressure")), None,
     ["missing parameter 'hardening_table.cap_pressure'", "MPa"]),
    (broken(lambda c: c["parameters"].update(hardening_table=3.0)), None,
     ["'hardening_table' = 3.0", "a table with keys"]),
    (broken(lambda c: c["material"].update(law="cam-clay")), None,
     ["[material] law = 'cam-clay'", "'elastic'", "'dpc'"]),
    (broken(lambda c: c["material"].update(name=" ")), None,
     ["[material] name", "non-empty string"]),
    (broken(lambda c: c.pop("sources")), None, ["missing table [sources]"]),
    (broken(lambda c: c.update(notes={})), None, ["unknown table [notes]"]),
    (broken(lambda c: c["sources"].update(cohesion=" ")), None,
     ["no source for parameter 'cohesion'"]),
    (broken(lambda c: (c["parameters"].update(law="dpc"), c["sources"].update(law="x"))), None,
     ["unknown parameter 'law'"]),
    (dpc_card(), {"initial_porosity": 2.0}, ["'initial_porosity' = 2.0", "in [0, 1)"]),
    (dpc_card(), {"friction_angle": True}, ["'friction_angle' = True"]),
    (dpc_card(), {"swelling": 3.0}, ["'swelling' = 3.0", "a table with keys"]),
    (dpc_card(), {"swelling": {"vegard_coefficient": 0.1, "times": [0.0, 1.0],
                               "concentration": [0.0], "gradient_axis": 1}},
     ["parameter 'swelling'", "'concentration' has 1 values, 'times' has 2"]),
    (dpc_card(), {"swelling": {"vegard_coefficient": 0.1, "times": [0.0], "concentration": [0.0],
                               "gradient_axis": 1.0}},
     ["'swelling.gradient_axis' = 1.0", "an integer in [0, 2]"]),
])
def test_a_bad_card_gives_one_message_naming_the_parameter(card, overrides, words):
    with pytest.raises(CardError) as error:
        parse_card(card, "t", overrides)
    for word in words:
        assert word in str(error.value), (word, str(error.value))


def test_a_card_file_outside_the_library_is_named_by_its_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[material]\nname = "m"\nlaw = "elastic"\ndescription = "x"\n'
                    '[parameters]\nyoungs_modulus = -1e3\npoisson_ratio = 0.3\n'
                    '[sources]\nyoungs_modulus = "x"\npoisson_ratio = "x"\n')
    with pytest.raises(CardError, match=re.escape(f"card 'mine' ({path}): parameter "
                                                  "'youngs_modulus' = -1000.0")):
        load_card(path)
    with pytest.raises(CardError, match="^card 'llzo': parameter 'youngs_modulus'"):
        load_card("llzo", {"youngs_modulus": 0.0})


def test_overrides_replace_values_and_swelling_merges_key_by_key():
    card = dpc_card()
    card["parameters"]["swelling"] = {"vegard_coefficient": 0.1, "times": [0.0, 1.0],
                                      "concentration": [0.0, 1.0]}
    card["sources"]["swelling"] = "assumption: test"
    law = parse_card(card, "t", {"cohesion": 2, "swelling": {"concentration": [0.0, 0.5]}})
    assert law.inner.cohesion == 2.0 and type(law.inner.cohesion) is float
    assert law.vegard_coefficient == 0.1 and law.concentration.tolist() == [0.0, 0.5]
    assert law.sources["cohesion"] == "override"
    assert law.sources["swelling"] == "assumption: test"
    assert parse_card(dpc_card(), "t").sources["cohesion"] == "x"


def number_fields(model: type[BaseModel]):
    for name, info in model.model_fields.items():
        if name in ("law", "swelling") or name.endswith("_table") or \
                info.annotation is bool:
            continue
        yield name, info


@pytest.mark.parametrize("model", [*LAW_MODELS.values(), *INTERFACE_MODELS.values()],
                         ids=lambda model: model.__name__)
def test_every_parameter_declares_its_meaning_and_unit(model):
    for name, info in number_fields(model):
        unit = re.sub(r" \(.*\)$", "", info.description.rsplit(", ", 1)[-1])
        assert unit in UNITS, (model.__name__, name, info.description)


def test_calibration_ranges_are_the_declared_bounds():
    """PARAMETERS / TABLES (read by nipstack calibrate for default fit bounds) hold the
    models' bounds, the table columns in declaration order (first = abscissa)."""
    assert set(PARAMETERS) == set(LAW_MODELS)
    beta = PARAMETERS["dpc"]["friction_angle"]
    assert (beta.low, beta.high, beta.low_open, beta.high_open) == (0.0, 90.0, False, True)
    assert PARAMETERS["j2"]["youngs_modulus"].expected() == "a finite number > 0"
    assert list(TABLES["hardening_table"]) == ["compaction_strain", "cap_pressure"]
    assert math.isinf(TABLES["hardening_table"]["compaction_strain"].low)
    for law, model in LAW_MODELS.items():
        for name, declared in PARAMETERS[law].items():
            assert declared == field_range(model.model_fields[name])


def shipped_interfaces():
    for path in sorted(CASES.rglob("*.toml")):
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
        for interface in data.get("interfaces", []):
            yield path.name, interface.get("law", "contact"), interface.get("parameters", {})


def test_shipped_interface_parameters_pass_unchanged():
    interfaces = list(shipped_interfaces())
    assert interfaces
    for name, law, parameters in interfaces:
        expected = {key: bool(value) if key == "adhesive" else value
                    for key, value in parameters.items()}
        assert interface_law_parameters(law, parameters) == expected, name


@pytest.mark.parametrize("law, parameters, words", [
    ("contact", {"friction": 0.1}, ["interface law 'contact'", "unknown parameter 'friction'",
                                    "friction_coefficient"]),
    ("cohesive_exponential", {"strength": 5.0},
     ["missing parameter 'toughness'", "N/mm"]),
    ("cohesive_bilinear", {"normal_strength": 1.0, "shear_strength": 1.0,
                           "mode_i_toughness": 0.1, "mode_ii_toughness": 0.1,
                           "bk_exponent": 2.0, "max_damage": 1.5},
     ["'max_damage' = 1.5", "in (0, 1]"]),
    ("interphase", {"normal_modulus": 1.0, "initial_thickness": 1e-5, "molar_volume": 1.0,
                    "diffusivity": 1.0, "concentration": 1.0, "adhesive": 0.5},
     ["'adhesive' = 0.5", "true or false"]),
    ("contact", {"normal_stiffness": float("nan")}, ["'normal_stiffness' = nan", "MPa/mm"]),
    ("glue", {}, ["unknown interface law 'glue'", "'contact'"]),
])
def test_bad_interface_parameters_give_one_message(law, parameters, words):
    with pytest.raises(CardError) as error:
        interface_law_parameters(law, parameters)
    for word in words:
        assert word in str(error.value), (word, str(error.value))


def test_interface_parameters_are_what_the_law_takes():
    """Only the given parameters come back (a stiffness left out stays out for the
    neighbours to give); a 1/0 flag becomes a bool."""
    assert interface_law_parameters("contact", {"friction_coefficient": 0.2}) == \
        {"friction_coefficient": 0.2}
    given = {"normal_modulus": 1e4, "initial_thickness": 1e-5, "molar_volume": 1e-2,
             "diffusivity": 1e-12, "concentration": 1e-8, "adhesive": 1.0}
    assert interface_law_parameters("interphase", copy.deepcopy(given))["adhesive"] is True
