# Two commands do all the set-up on a fresh machine:
#   make run    create .venv if needed, then run the default case (flat press of an NMC cathode)
#   make test   create .venv if needed, then run the test suite (including the MPI tests)
VENV ?= .venv
CASE ?= cases/flat_press_nmc.toml

.PHONY: install run test benchmark clean
install:
	bash containers/install.sh

run: install
	$(VENV)/bin/nipstack run $(CASE) --overwrite

test: install
	$(VENV)/bin/python -m pytest -q tests

benchmark: install
	$(VENV)/bin/python benchmarks/flat_press_timing.py

clean:
	rm -rf results .pytest_cache
