"""Material-point driver: paths, stress control, CSV output (pure NumPy, seconds)."""
from __future__ import annotations

import numpy as np
import pytest

from nipstack.materials.cards import load_card
from nipstack.point import CONFINE, LOAD, point_main, run_path, write_csv


def test_point_main_writes_the_csv(tmp_path):
    out = tmp_path / "point.csv"
    result = point_main("mcc_avicel_ph102", "uniaxial-strain", out, steps=5, max_strain=0.2)
    header = out.read_text().splitlines()[0].split(",")
    for column in ("step", "time", "axial_strain", "lateral_strain", "porosity",
                   "mean_stress", "equivalent_stress", "axial_stress", "cap_pressure",
                   "plastic_volumetric_strain", "on_cap", "on_shear"):
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
