"""`nipstack calibrate` (issue 18): DPC cards fitted to compaction data, with their evidence.

Done-means of the issue, each with its tolerance:
* synthetic round trip through the point driver: a card with Gibson-Ashby elasticity and
  exponential cap hardening generates die data (axial + radial stress, 3 unloading segments)
  and strength tests; fitted back from a start 20-100 % off, every parameter within 1e-4 noise
  free and within 2 % with 1 % multiplicative noise; with axial stress only (no radial stress,
  no strength tests) R and d are reported as not determined, in the table and in the card;
* the MCC Avicel PH-102 example reproduces the source table's cap hardening and elastic moduli
  within 3 % at every node the data determine (RD 0.30 ... 0.90), and reports the RD 0.99
  nodes (beyond the test) as not determined;
* the NMC flat-press example: a real FE flat press with the fitted card gives the input
  thickness within 2 % at every measured pressure;
* bad data exit 2 with one message naming the file and the column.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from nipstack.calibrate import calibrate, load_input, run_fit
from nipstack.calibrate.model import make_law
from nipstack.calibrate.synthetic import add_noise, die_test, failure_tests, write_csv
from nipstack.cli import main
from nipstack.materials.cards import load_card

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "calibration"
TRUE = dict(initial_porosity=0.48, solid_youngs_modulus=6000.0, gibson_ashby_exponent=2.0,
            poisson_ratio=0.25, cohesion=1.0, friction_angle=60.0, cap_eccentricity=0.6,
            transition_alpha=0.02, cap_pressure_initial=1.0, cap_hardening_A=300.0,
            cap_hardening_B=3.0)
START = dict(TRUE, solid_youngs_modulus=3000.0, poisson_ratio=0.2, cohesion=2.0,
             friction_angle=50.0, cap_eccentricity=0.8, cap_pressure_initial=2.0,
             cap_hardening_A=200.0, cap_hardening_B=2.0)
FITTED = ["solid_youngs_modulus", "gibson_ashby_exponent", "poisson_ratio", "cohesion",
          "friction_angle", "cap_eccentricity", "cap_pressure_initial", "cap_hardening_A",
          "cap_hardening_B"]
UNITS = {"relative_density": "-", "axial_stress": "MPa", "radial_stress": "MPa", "test": "",
         "strength": "MPa", "confining_pressure": "MPa", "pressure": "MPa", "thickness": "mm"}


def _data_toml(folder: Path, datasets: list[tuple[str, str, str]], extra: str = "") -> Path:
    text = '[calibration]\nname = "round_trip"\nsource = "synthetic"\n\n[model.parameters]\n'
    text += "".join(f"{k} = {v}\n" for k, v in START.items())
    text += "\n[fit]\nparameters = [" + ", ".join(f'"{k}"' for k in FITTED) + "]\n"
    for name, kind, file in datasets:
        text += f'\n[[data]]\nname = "{name}"\nkind = "{kind}"\nfile = "{file}"\n'
    path = folder / "DATA.toml"
    path.write_text(text + extra)
    return path


def _synthetic(folder: Path, noise: float, radial=True, strength=True) -> Path:
    law = make_law(dict(TRUE))
    die = die_test(law, 0.78, points=100, unload_at=(0.6, 0.7, 0.75), unload_points=8)
    tests = failure_tests(law, [0.55, 0.6, 0.65, 0.7, 0.75], confining=(5.0, 10.0))
    if noise:
        die = add_noise(die, ("axial_stress", "radial_stress"), noise, seed=3)
        tests = add_noise(tests, ("strength",), noise, seed=4)
    if not radial:
        die.pop("radial_stress")
    write_csv(folder / "die.csv", die, UNITS)
    write_csv(folder / "strength.csv", tests, UNITS)
    sets = [("die", "die", "die.csv")] + ([("strength", "failure", "strength.csv")]
                                          if strength else [])
    return _data_toml(folder, sets)


def _errors(result) -> dict:
    return {e.key: abs(v / TRUE[e.key] - 1.0) for e, v in zip(result.entries, result.values)}


def test_round_trip_noise_free(tmp_path):
    """Every parameter back to 1e-4 (measured: < 1e-6) from a start 20-100 % off."""
    result = run_fit(load_input(_synthetic(tmp_path, 0.0)), log=lambda m: None)["result"]
    assert result.free.all()
    errors = _errors(result)
    assert max(errors.values()) < 1e-4, errors


def test_round_trip_one_percent_noise(tmp_path):
    """1 % noise: every parameter within 2 % (measured: 0.92 % at most, p_b0) and within 4 of
    its own standard deviations (the covariance is honest)."""
    result = run_fit(load_input(_synthetic(tmp_path, 0.01)), log=lambda m: None)["result"]
    assert result.free.all()
    errors = _errors(result)
    assert max(errors.values()) < 0.02, errors
    for e, v, sd in zip(result.entries, result.values, result.sd):
        assert abs(v - TRUE[e.key]) < 4.0 * sd, (e.key, v, sd)
        assert 0.0 < sd < 0.01 * abs(v), (e.key, sd)


@pytest.mark.slow
def test_unidentifiable_reported(tmp_path):
    """Axial stress only (a press without a radial gauge, no strength tests): the cap
    eccentricity R and the cohesion d are reported as not determined; the card keeps their
    stated start values and its source lines say so; the card loads. About 7-15 s (two
    refits after the removals, 213 path evaluations)."""
    data = _synthetic(tmp_path, 0.0, radial=False, strength=False)
    summary = calibrate(data, tmp_path / "report", log=lambda m: None)
    status = {e["parameter"]: e["status"] for e in summary["entries"]}
    for key in ("cap_eccentricity", "cohesion"):
        assert status[key].startswith("not determined"), status
    folder = Path(summary["folder"])
    card = tomllib.loads((folder / "round_trip.toml").read_text())
    for key in ("cap_eccentricity", "cohesion"):
        assert card["parameters"][key] == START[key]
        assert "NOT DETERMINED" in card["sources"][key]
    assert "fitted by nipstack calibrate" in card["sources"]["cap_hardening_A"]
    load_card(folder / "round_trip.toml")
    for name in ("fit_table.csv", "correlation.csv", "fit.json", "report.md", "data_die.csv",
                 "fit_die.png", "residuals_die.png"):
        assert (folder / name).is_file(), name


@pytest.mark.slow
def test_mcc_example_reproduces_source_table(tmp_path):
    """The MCC example (die + strength data generated from the library card, 1 % noise) fits
    the card's cap hardening and Young's moduli back within 3 % at RD 0.30 ... 0.90 (measured:
    0.34 % and 0.57 % at most); the RD 0.99 nodes are beyond the test and reported as not
    determined. About 20 s."""
    summary = calibrate(EXAMPLES / "mcc_avicel" / "DATA.toml", tmp_path / "mcc",
                        log=lambda m: None)
    folder = Path(summary["folder"])
    fitted = load_card(folder / "mcc_avicel_ph102_fit.toml")
    source = load_card("mcc_avicel_ph102")
    for table, column in (("hardening_table", "cap_pressure"),
                          ("elasticity_table", "youngs_modulus")):
        a = getattr(fitted, table)[column][:7]
        b = getattr(source, table)[column][:7]
        assert np.max(np.abs(a / b - 1.0)) < 0.03, (column, a, b)
    status = {e["parameter"]: e["status"] for e in summary["entries"]}
    assert status["hardening_table.cap_pressure[7]"].startswith("not determined")
    assert status["elasticity_table.youngs_modulus[7]"].startswith("not determined")
    assert all(status[f"hardening_table.cap_pressure[{i}]"] == "fitted" for i in range(7))


@pytest.mark.slow
def test_flat_press_example_fe_check(tmp_path):
    """NMC coating on Al foil: fitted with the point driver (uniaxial strain), checked with a
    real FE flat press through the measured pressures: thickness within 2 % of the data at
    every point (measured 0.34 %), FE and point driver within 0.1 % (measured 0.0075 %).
    About 5-10 s (dolfinx start-up, the fit, one FE run of 14 steps)."""
    summary = calibrate(EXAMPLES / "nmc_flat_press" / "DATA.toml", tmp_path / "nmc",
                        log=lambda m: None)
    check = summary["flat_press_checks"]["flat_press"]
    data = load_input(EXAMPLES / "nmc_flat_press" / "DATA.toml").data[0]
    fe = np.array(check["thickness"])
    assert np.all(np.isfinite(fe)) and fe.size == data.rows
    assert np.max(np.abs(fe / data.columns["thickness"] - 1.0)) < 0.02
    assert check["max_fe_vs_point"] < 1e-3
    stats = {s["column"]: s for s in summary["data_sets"]}
    assert stats["thickness"]["r_squared"] > 0.999


def test_lfp_pairs_example(tmp_path):
    """Etiemble 2017 J -> K at an assumed 100 MPa: one number (A) fitted; the thickness after
    within 1.5 % (the published pair's own mass balance is off by 1.52 %), the porosity within
    1 %; no R^2 claimed for one point."""
    summary = calibrate(EXAMPLES / "lfp_etiemble" / "DATA.toml", tmp_path / "lfp",
                        log=lambda m: None)
    stats = {s["column"]: s for s in summary["data_sets"]}
    assert stats["thickness_after"]["max_relative_residual"] < 0.015
    assert stats["porosity_after"]["max_relative_residual"] < 0.01
    assert all(s["r_squared"] is None for s in summary["data_sets"])
    assert "1.52 %" in stats["thickness_after"]["verdict"]


BAD = {
    "non-monotone": ("relative_density [-],axial_stress [MPa]\n0.5,0\n0.55,10\n0.6,20\n"
                     "0.58,30\n0.62,40\n0.65,50\n", "column 'relative_density' is not monotone"),
    "missing column": ("relative_density [-],radial_stress [MPa]\n0.5,0\n0.55,10\n0.6,20\n"
                       "0.62,30\n0.65,40\n", "missing column 'axial_stress [MPa]'"),
    "units": ("relative_density [-],axial_stress [mm]\n0.5,0\n0.55,10\n0.6,20\n0.62,30\n"
              "0.65,40\n", "column 'axial_stress [mm]': unit 'mm' is not a stress unit"),
    "percent as fraction": ("porosity [-],axial_stress [MPa]\n50,0\n45,10\n40,20\n38,30\n"
                            "35,40\n", "column 'porosity', line 2: 50 outside [0, 1]"),
    "too few points": ("relative_density [-],axial_stress [MPa]\n0.5,0\n0.55,10\n0.6,20\n",
                       "3 data row(s): a 'die' data set needs at least 5"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_data_exit_2(tmp_path, capsys, case):
    text, message = BAD[case]
    (tmp_path / "die.csv").write_text(text)
    data = _data_toml(tmp_path, [("die", "die", "die.csv")])
    code = main(["calibrate", str(data), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(tmp_path / "die.csv") in err and message in err, err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()
