"""Material-point driver: paths, stress control, CSV output (pure NumPy, seconds)."""
from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from nipstack.cli import main
from nipstack.materials.cards import load_card
from nipstack.point import (CONFINE, LOAD, POINT_COLUMNS, PorosityLimit, column_name,
                            is_point_csv, point_main, run_path, write_csv)


def _columns(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], np.array(rows[1:], dtype=float)


def test_point_main_writes_the_csv(tmp_path):
    out = tmp_path / "point.csv"
    result = point_main("mcc_avicel_ph102", "uniaxial-strain", out, steps=5, max_strain=0.2)
    header = out.read_text().splitlines()[0].split(",")
    for column in ("step [-]", "time [s]", "strain_zz [-] (log; tension +)",
                   "strain_xx [-] (log; tension +)", "porosity [-]",
                   "p [MPa] (-tr(sigma)/3; compression +)", "q [MPa] (von Mises)",
                   "stress_zz [MPa] (Cauchy; tension +)", "cap_pressure [MPa] (compression +)",
                   "plastic_volumetric_strain [-] (ln J_p; tension +)", "on_cap [0/1]",
                   "on_shear [0/1]"):
        assert column in header
    assert len(out.read_text().splitlines()) == len(result["step"]) + 1
    # porosity = 1 - (1 - phi0)/J
    jac_det = np.exp(result["axial_strain"] + 2 * result["lateral_strain"])
    np.testing.assert_allclose(result["porosity"], 1 - 0.3 / jac_det, rtol=1e-14)
    write_csv(result, tmp_path / "again.csv")


def test_point_main_accepts_the_cli_options(tmp_path):
    """The exact keyword set that `nipstack point` passes; time = duration of loading."""
    result = point_main("mcc_avicel_ph102", "triaxial", tmp_path / "p.csv", max_strain=0.05,
                        steps=10, confining_pressure=0.2, unload=True, time=5.0,
                        overrides={"relaxation_time": 1.0})
    loading = result["stage"] == LOAD
    np.testing.assert_allclose(np.diff(result["time"][loading]), 0.5, rtol=1e-12)


def test_triaxial_stress_control_holds_the_confining_pressure():
    """Confining ramp then axial loading and unloading: lateral Cauchy stress stays at
    -confining_pressure to 1e-9 relative (the driver's Newton tolerance is 1e-10)."""
    law = load_card("mcc_avicel_ph102")
    result = run_path(law, "triaxial", steps=20, max_strain=0.05, confining_pressure=0.3)
    after_ramp = result["stage"] != CONFINE
    np.testing.assert_allclose(result["lateral_stress"][after_ramp][1:], -0.3, rtol=1e-9)
    np.testing.assert_allclose(result["axial_stress"][-1], -0.3, rtol=1e-9)
    assert result["axial_stress"][result["stage"] == LOAD].min() < -0.3


def test_unknown_path_is_rejected():
    with pytest.raises(ValueError, match="unknown path 'shear'"):
        run_path(load_card("mcc_avicel_ph102"), "shear")


@pytest.mark.parametrize("card, path", [
    ("nmc_cathode", "uniaxial-strain"),          # Drucker-Prager-Cap
    ("mcc_avicel_ph102", "triaxial"),            # DPC, confining stage
    ("aluminium_foil", "uniaxial-strain"),       # J2 plasticity
    ("llzo", "hydrostatic"),                     # linear elastic
    ("lithium_metal_creep", "uniaxial-strain"),  # J2 with creep
    ("polymer_pad_viscoelastic", "uniaxial-strain"),
])
def test_every_csv_column_has_a_unit(tmp_path, card, path):
    """Each header cell names a unit in brackets; no column of a shipped law falls back to
    '[unit?]'; the header is unique and has no comma inside a cell (plain split works)."""
    out = tmp_path / "p.csv"
    point_main(card, path, out, steps=10, max_strain=0.02, confining_pressure=0.3)
    header = out.read_text().splitlines()[0].split(",")
    assert len(set(header)) == len(header)
    for cell in header:
        assert re.search(r"\[[^\]]+\]", cell), cell
        assert "[unit?]" not in cell, cell
    assert column_name("something_new") == "something_new [unit?]"
    assert all("," not in name for name in POINT_COLUMNS.values())


def test_sign_convention_in_the_csv(tmp_path):
    """Uniaxial-strain compression of a DPC coating, read back from the CSV: the axial log
    strain and the Cauchy stresses are negative (tension +), p and the cap pressure are
    positive (compression +), and p = -(stress_zz + 2 stress_xx)/3 to 1e-9 relative (the CSV
    keeps 10 significant digits)."""
    out = tmp_path / "p.csv"
    point_main("nmc_cathode", "uniaxial-strain", out, steps=10, max_strain=0.2, unload=False)
    header, data = _columns(out)
    column = {name.split(" ")[0]: data[:, k] for k, name in enumerate(header)}
    loaded = column["stage"] == LOAD
    loaded[0] = False                                 # the unloaded start
    assert np.all(column["strain_zz"][loaded] < 0) and np.all(column["strain_xx"] == 0)
    assert np.all(column["stress_zz"][loaded] < 0) and np.all(column["stress_xx"][loaded] < 0)
    assert np.all(column["p"][loaded] > 0) and np.all(column["cap_pressure"] > 0)
    assert np.all(column["plastic_volumetric_strain"][loaded] < 0)      # compaction
    np.testing.assert_allclose(column["p"],
                               -(column["stress_zz"] + 2 * column["stress_xx"]) / 3,
                               rtol=1e-9, atol=1e-12)
    assert np.all(column["q"] >= 0)


def test_out_protection_recognises_the_new_and_the_old_header(tmp_path, capsys):
    """`nipstack point --out F --overwrite` replaces a CSV it wrote (this header, or the one
    before the units: 'step,stage,time,axial_strain,...'), never another file."""
    args = ["point", "nmc_cathode", "--path", "hydrostatic", "--steps", "2", "--max-strain",
            "0.01", "--out"]
    new = tmp_path / "new.csv"
    assert main([*args, str(new)]) == 0
    assert is_point_csv(new)
    assert main([*args, str(new)]) == 2                              # exists: --overwrite
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*args, str(new), "--overwrite"]) == 0
    old = tmp_path / "old.csv"
    old.write_text("step,stage,time,axial_strain,lateral_strain,porosity\n0,1,0,0,0,0.3\n")
    assert is_point_csv(old)
    assert main([*args, str(old), "--overwrite"]) == 0
    assert old.read_text().startswith("step [-],stage [0=confine 1=load 2=hold 3=unload],")
    mine = tmp_path / "mine.csv"
    mine.write_text("step,stage,time\n1,2,3\n")                      # not a point CSV
    assert not is_point_csv(mine)
    assert main([*args, str(mine), "--overwrite"]) == 2
    assert mine.read_text() == "step,stage,time\n1,2,3\n"
    assert not is_point_csv(tmp_path)                                 # a folder


def test_path_past_the_porosity_limit_stops_and_is_marked_incomplete(tmp_path, capsys):
    """`nipstack point` with a strain that compacts past fully dense (NMC, porosity0 0.48:
    porosity 0 at a uniaxial log strain of ln(0.52) = -0.654) stops at the porosity limit:
    one message naming the limit and the strain reached, exit 3 (as an INCOMPLETE run), no
    CSV under the asked name, the admissible part (porosity >= 0) in <name>.incomplete.csv.
    An earlier complete CSV under the asked name is kept."""
    out = tmp_path / "pt9.csv"
    args = ["point", "nmc_cathode", "--path", "uniaxial-strain", "--steps", "20", "--out",
            str(out), "--max-strain"]
    assert main([*args, "0.9"]) == 3
    err = capsys.readouterr().err
    assert "porosity limit" in err and "axial log strain -0.675" in err, err
    assert "ln(1 - porosity0) = -0.6539" in err and "pt9.incomplete.csv" in err, err
    assert "Traceback" not in err and not out.exists()
    header, values = _columns(tmp_path / "pt9.incomplete.csv")
    porosity = values[:, header.index("porosity [-]")]
    assert porosity.min() >= 0.0 and len(porosity) == 15         # steps 0-14 of 20
    assert is_point_csv(tmp_path / "pt9.incomplete.csv")
    assert main([*args, "0.5"]) == 0                              # admissible: complete
    assert main([*args, "0.9", "--overwrite"]) == 3
    assert _columns(out)[1].shape[0] == 41                        # the complete CSV kept
    foreign = tmp_path / "mine.incomplete.csv"
    foreign.write_text("my,data\n")                              # not nipstack's: refused
    assert main([*args[:-2], str(tmp_path / "mine.csv"), "--max-strain", "0.9"]) == 2
    assert "mine.incomplete.csv" in capsys.readouterr().err
    assert foreign.read_text() == "my,data\n"
    with pytest.raises(PorosityLimit, match="porosity limit"):
        run_path(load_card("nmc_cathode"), "hydrostatic", steps=20, max_strain=0.9,
                 stop_at_porosity_limit=True)
