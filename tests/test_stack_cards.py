"""Material cards for cell-stack compaction (solid-state and Li-ion pouch stacks), pure NumPy, seconds.

Every new card loads through ``load_card`` as the law it declares, and every [parameters] key has a
[sources] entry that is either a citation (a year, a DOI, or a data sheet / manual) or says
"assumption: ..." with its reason. The elastic
constants lie inside the ranges of the sources each card cites (ranges stated below, with where they
come from). The DPC cards run a hydrostatic point path that follows their hardening table, and the
flat-press numbers quoted in the card headers are reproduced by the material-point driver.
"""
from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest

from nipstack.materials.cards import LIBRARY, load_card
from nipstack.materials.dpc import DruckerPragerCap
from nipstack.materials.elastic import LinearElastic
from nipstack.materials.j2 import J2Plasticity
from nipstack.materials.j2_creep import J2NortonCreep
from nipstack.materials.viscoelastic import StandardLinearSolid
from nipstack.point import LOAD, UNLOAD, run_path

STACK_CARDS = {
    "lithium_metal": J2Plasticity,
    "llzo": LinearElastic,
    "argyrodite_li6ps5cl": LinearElastic,
    "ssb_composite_cathode": DruckerPragerCap,
    "polyolefin_separator": DruckerPragerCap,
    "polymer_pressure_pad": LinearElastic,
    "lithium_metal_creep": J2NortonCreep,
    "polymer_pad_viscoelastic": StandardLinearSolid,
}
DPC_CARDS = [name for name, law in STACK_CARDS.items() if law is DruckerPragerCap]
#: a citation names its year or DOI, or is a manufacturer's data sheet / software manual
CITATION = re.compile(r"\b(19|20)\d\d\b|doi 10\.|data ?sheet|User's Guide", re.IGNORECASE)


def raw_card(name):
    with open(LIBRARY / f"{name}.toml", "rb") as stream:
        return tomllib.load(stream)


def youngs_at_initial_porosity(law):
    """E(phi_0) of a DPC card, MPa (the modulus an unloading test on the fresh layer measures)."""
    return float(law.effective_youngs_modulus(law.initial_state(1))[0])


# ------------------------------------------------------------------ loading and sources
@pytest.mark.parametrize("name", STACK_CARDS)
def test_card_loads_as_its_declared_law(name):
    law = load_card(name)
    assert isinstance(law, STACK_CARDS[name])
    data = raw_card(name)
    assert law.card_name == data["material"]["name"]
    assert law.description == data["material"]["description"]
    # the card documents itself in a header comment, like the existing library cards
    assert (LIBRARY / f"{name}.toml").read_text().startswith("# ")


@pytest.mark.parametrize("name", STACK_CARDS)
def test_every_parameter_has_a_citation_or_a_stated_assumption(name):
    data = raw_card(name)
    parameters, sources = data["parameters"], data["sources"]
    assert set(sources) == set(parameters)           # a nested table counts as one key
    for key, source in sources.items():
        assert isinstance(source, str) and source.strip(), key
        if source.startswith("assumption"):
            assert source.startswith("assumption: ") and len(source) > 40, key   # says why
        else:
            assert CITATION.search(source), f"{name}.{key}: a citation names year, DOI or document"
    assert set(load_card(name).sources) == set(parameters)


# ------------------------------------------------------------------ ranges of the cited sources
# (card, quantity, low, high, where the range comes from); moduli in MPa
RANGES = [
    ("lithium_metal", "youngs_modulus", 4900.0, 7900.0,
     "4.9 GPa handbook polycrystal (CRC/WebElements) .. 7.82 GPa pulse-echo (Masias et al. 2019)"),
    ("lithium_metal", "poisson_ratio", 0.36, 0.39,
     "0.36 handbook .. 0.37-0.39 pulse-echo (Masias et al. 2019, mean 0.38)"),
    ("lithium_metal", "yield_stress", 0.60, 0.81,
     "polycrystalline Li, tension and compression, 0.60-0.81 MPa (Masias et al. 2019, Table 3)"),
    ("lithium_metal", "hardening_modulus", 0.0, 0.0,
     "no work hardening (Masias et al. 2019; Darnbrough and Armstrong 2024)"),
    ("llzo", "youngs_modulus", 132.6e3, 150.2e3,
     "hot-pressed Al-LLZO by RUS: 132.6 GPa at P = 0.06 .. 149.8 +/- 0.4 GPa at P = 0.03 (Ni 2012)"),
    ("llzo", "poisson_ratio", 0.25, 0.27,
     "Ni et al. 2012: nu = 0.26 (0.257 = E/2G - 1 from E = 149.8, G = 59.6 GPa)"),
    ("argyrodite_li6ps5cl", "youngs_modulus", 18.0e3, 30.0e3,
     "Li2S-P2S5 glasses 18-25 GPa (Sakuda 2013) .. DFT argyrodites Cl 22.1 / Br 25.3 / I 30.0 GPa "
     "(Deng et al. 2016), all dense"),
    ("argyrodite_li6ps5cl", "poisson_ratio", 0.33, 0.37,
     "DFT argyrodites I 0.33 / Br 0.35 / Cl 0.37 (Deng et al. 2016)"),
    ("polyolefin_separator", "initial_porosity", 0.39, 0.41,
     "Celgard 2325 (39 %) .. Celgard 2400 (41 %) product values"),
    ("polyolefin_separator", "E(phi_0)", 100.0, 200.0,
     "through-thickness compression modulus 100-200 MPa (range named for Peabody and Arnold 2011, "
     "Cannarella et al. 2014; an assumption in the card, not verified)"),
    ("ssb_composite_cathode", "solid_youngs_modulus", 22.1e3, 150.0e3,
     "between dense Li6PS5Cl (22.1 GPa, Deng et al. 2016) and NMC (assumed 150 GPa): an iso-stress "
     "mixture of the two must lie between them"),
    ("polymer_pressure_pad", "youngs_modulus", 0.055, 0.143,
     "PORON 4701-30 datasheet CFD 21-55 kPa at 25 % deflection, as Hencky E = CFD x 0.75/ln(4/3)"),
    ("polymer_pressure_pad", "poisson_ratio", 0.0, 0.34,
     "open-cell foam: ~1/3 at small strain, ~0 in the collapse plateau (Gibson and Ashby)"),
    ("lithium_metal_creep", "youngs_modulus", 4900.0, 7900.0,
     "as lithium_metal: 4.9 GPa handbook .. 7.82 GPa pulse-echo (Masias et al. 2019)"),
    ("lithium_metal_creep", "yield_stress", 0.60, 0.81,
     "as lithium_metal: polycrystalline Li 0.60-0.81 MPa (Masias et al. 2019, Table 3)"),
    ("lithium_metal_creep", "creep_exponent", 6.56, 6.56,
     "Masias et al. 2019: n = 6.56 between 0.2 and 0.6 MPa"),
    ("polymer_pad_viscoelastic", "youngs_modulus", 3.6, 9.4,
     "instantaneous E1 + E2 of a 60-80 Shore A rubber by Gent's relation (1958): 3.6 .. 9.4 MPa"),
]


@pytest.mark.parametrize("name, quantity, low, high, why", RANGES,
                         ids=[f"{r[0]}-{r[1]}" for r in RANGES])
def test_constants_lie_in_the_ranges_of_the_cited_sources(name, quantity, low, high, why):
    law = load_card(name)
    value = youngs_at_initial_porosity(law) if quantity == "E(phi_0)" else getattr(law, quantity)
    assert low <= value <= high, f"{name}.{quantity} = {value} outside [{low}, {high}]: {why}"


def test_every_stack_card_has_a_range_check_on_its_stiffness():
    checked = {name for name, *_ in RANGES}
    assert checked == set(STACK_CARDS)


# ------------------------------------------------------------------ material-point paths
@pytest.mark.parametrize("name", DPC_CARDS)
def test_dpc_card_hydrostatic_path_follows_its_hardening_table(name):
    """Hydrostatic compaction and unloading: on the cap the Cauchy mean stress equals the tabulated
    p_b(compaction strain) to 1e-8 (round-off of the return; the driver's stress control is 1e-10);
    porosity falls monotonically and stays positive; unloading to zero mean stress springs back
    elastically, but keeps the plastic compaction."""
    law = load_card(name)
    result = run_path(law, "hydrostatic", steps=30, max_strain=0.12, unload=True)
    load = result["stage"] == LOAD
    on_cap = load & (result["on_cap"] == 1)
    assert on_cap.sum() >= 20
    kappa = result["plastic_volumetric_strain"][on_cap]
    table = law.hardening_table
    p_b = np.interp(-kappa, table["compaction_strain"], table["cap_pressure"])
    assert np.all(kappa < 0.0)
    np.testing.assert_allclose(result["mean_stress"][on_cap], p_b, rtol=1e-8)
    porosity = result["porosity"][load]
    assert np.all(np.diff(porosity) < 0.0) and porosity.min() > 0.0
    unload = result["stage"] == UNLOAD
    assert abs(result["mean_stress"][unload][-1]) < 1e-8 * result["mean_stress"].max()
    assert porosity[-1] < result["porosity"][-1] < law.initial_porosity


@pytest.mark.parametrize("max_strain, axial_stress, unloaded_porosity", [
    (0.30, 283.0, 0.197),          # header: sigma_zz ~ 280 MPa leaves ~20 % porosity
    (0.35, 409.0, 0.158),          # header: ~410 MPa leaves ~16 %
])
def test_composite_cathode_flat_press_matches_its_header(max_strain, axial_stress,
                                                         unloaded_porosity):
    """Uniaxial strain (flat press) then unloading: the calibration numbers quoted in the card header
    (axial stress within 3 %, unloaded porosity within 0.005)."""
    result = run_path(load_card("ssb_composite_cathode"), "uniaxial-strain", steps=80,
                      max_strain=max_strain)
    peak = np.flatnonzero(result["stage"] == LOAD)[-1]
    assert result["on_cap"][peak] == 1
    assert abs(-result["axial_stress"][peak] / axial_stress - 1.0) < 0.03
    assert abs(result["porosity"][-1] - unloaded_porosity) < 0.005
    # springback on unloading is ~1 % porosity (header)
    assert 0.003 < result["porosity"][-1] - result["porosity"][peak] < 0.015


def test_separator_stays_elastic_at_stack_pressures_and_compacts_beyond():
    """Header: elastic up to sigma_zz ~ 11 MPa in uniaxial strain (pouch stack pressures of a few MPa
    never reach the cap), porosity ~0.10 under load at ~40 MPa."""
    law = load_card("polyolefin_separator")
    result = run_path(law, "uniaxial-strain", steps=200, max_strain=0.4, unload=False)
    sigma = -result["axial_stress"]
    first_cap = np.flatnonzero(result["on_cap"] == 1)[0]
    assert 10.0 < sigma[first_cap - 1] < 12.0
    assert np.all(result["on_cap"][sigma < 10.0] == 0)
    at_40 = np.flatnonzero(sigma >= 40.0)[0]
    assert 0.08 < result["porosity"][at_40] < 0.12


def test_lithium_flows_at_its_yield_stress_in_uniaxial_compression():
    """Uniaxial stress (triaxial path at zero confinement): below the yield strain (0.8/7820 = 1e-4)
    the slope is E (Hencky; J - 1 ~ 1e-5, so 1e-4 relative); beyond it, without hardening, the
    axial Kirchhoff stress J sigma_zz stays at -0.8 MPa (J2 yields in Kirchhoff stress; the Cauchy
    value differs by J - 1 = -tau/(3K) ~ 2.5e-5) to 1e-8: the return is exact and the driver holds
    the lateral stress at 0 to 1e-10."""
    law = load_card("lithium_metal")
    elastic = run_path(law, "triaxial", steps=5, max_strain=5e-5, confining_pressure=0.0,
                       unload=False)
    assert np.all(elastic["equivalent_plastic_strain"] == 0.0)
    slope = elastic["axial_stress"][-1] / elastic["axial_strain"][-1]
    assert abs(slope / law.youngs_modulus - 1.0) < 1e-4
    result = run_path(law, "triaxial", steps=100, max_strain=0.05, confining_pressure=0.0,
                      unload=False)
    loading = np.flatnonzero(result["stage"] == LOAD)
    yielded = loading[result["equivalent_plastic_strain"][loading] > 0.0]
    assert len(yielded) > 50
    jac_det = np.exp(result["axial_strain"] + 2.0 * result["lateral_strain"])
    kirchhoff = result["axial_stress"] * jac_det
    np.testing.assert_allclose(kirchhoff[yielded], -law.yield_stress, rtol=1e-8)
    np.testing.assert_allclose(result["axial_stress"][yielded], -law.yield_stress, rtol=1e-4)
    np.testing.assert_allclose(result["lateral_stress"][yielded], 0.0, atol=1e-9)


def test_pressure_pad_reproduces_the_datasheet_compression_force_deflection():
    """Unconfined compression to 25 % deflection (stretch 0.75): the nominal stress (force over
    original area) is the datasheet typical CFD, 34 kPa, to 1 % (E is rounded to 3 digits)."""
    law = load_card("polymer_pressure_pad")
    result = run_path(law, "triaxial", steps=10, max_strain=np.log(1.0 / 0.75),
                      confining_pressure=0.0, unload=False)
    area_ratio = np.exp(2.0 * result["lateral_strain"][-1])          # A / A0
    nominal_kpa = -result["axial_stress"][-1] * area_ratio * 1e3
    assert abs(nominal_kpa / 34.0 - 1.0) < 0.01
