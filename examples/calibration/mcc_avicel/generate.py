"""Make the MCC Avicel PH-102 example data from the library card mcc_avicel_ph102 (the public
density-dependent DPC table of taha-re/manuscript-data-density-dependent-friction-tableting,
after Panos 2007): an instrumented die test and strength tests, as a lab would record them,
with 1 % multiplicative noise (seeded).  `nipstack calibrate DATA.toml` then fits the tables
back; tests/test_calibrate.py holds the fit to the source table (3 %).

    die_mcc.csv       die compaction from the fill density 0.30 to 0.92: relative density,
                      axial and radial stress (compression +), unloading to 0 and reloading at
                      RD 0.40, 0.50, ..., 0.90 (model.die_response replays the path)
    strength_mcc.csv  diametral, uniaxial and triaxial (5 MPa) strengths at RD 0.40 ... 0.90
                      on the card's shear line (model.failure_points for the stress states)

    .venv/bin/python examples/calibration/mcc_avicel/generate.py
"""
from pathlib import Path

from nipstack.calibrate.synthetic import add_noise, die_test, failure_tests, write_csv
from nipstack.materials.cards import load_card

HERE = Path(__file__).parent
NOISE = 0.01
UNITS = {"relative_density": "-", "axial_stress": "MPa", "radial_stress": "MPa",
         "test": "", "strength": "MPa", "confining_pressure": "MPa"}


def main():
    law = load_card("mcc_avicel_ph102")
    die = die_test(law, rd_max=0.92, points=60, unload_at=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                   unload_points=6)
    die = add_noise(die, ("axial_stress", "radial_stress"), NOISE, seed=1)
    write_csv(HERE / "die_mcc.csv", die, UNITS,
              comment="MCC Avicel PH-102, instrumented die (generated: generate.py, from the "
                      "library card mcc_avicel_ph102,\n1 % noise); stresses compression +")
    strength = failure_tests(law, [0.4, 0.5, 0.6, 0.7, 0.8, 0.9], confining=(5.0,))
    strength = add_noise(strength, ("strength",), NOISE, seed=2)
    write_csv(HERE / "strength_mcc.csv", strength, UNITS,
              comment="MCC Avicel PH-102 strength tests (generated: generate.py, on the "
                      "card's shear line, 1 % noise)")
    print(f"die: {len(die['axial_stress'])} rows, strength: {len(strength['strength'])} rows")


if __name__ == "__main__":
    main()
