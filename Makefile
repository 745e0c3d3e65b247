# Two commands do all the set-up on a fresh machine:
#   make run    create .venv if needed, then run the default case (flat press of an NMC cathode)
#   make test   create .venv if needed, then run the test suite (including the MPI tests)
#   make test-fast   the edit loop: unit and verification tests (not marked slow or mpi)
VENV ?= .venv
CASE ?= cases/flat_press_nmc.toml

.PHONY: install run test test-fast benchmark clean
install:
	bash containers/install.sh

run: install
	$(VENV)/bin/nipstack run $(CASE) --overwrite

test: install
	$(VENV)/bin/python -m pytest -q --durations=15 tests

test-fast: install
	$(VENV)/bin/python -m pytest -q -m "not slow and not mpi" --durations=5 tests

benchmark: install
	$(VENV)/bin/python benchmarks/flat_press_timing.py

clean:
	rm -rf results .pytest_cache
