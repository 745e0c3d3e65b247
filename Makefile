# Two commands do all the set-up on a fresh machine:
#   make run    create .venv if needed, then run the default case (flat press of an NMC cathode)
#   make test   create .venv if needed, then run the test suite (including the MPI tests)
#   make test-fast   the edit loop: unit and verification tests (not marked slow or mpi)
#   make test-all    before a release: make test plus every shipped case at full resolution and
#                    on two MPI ranks against its gold summary (tests/test_release.py)
VENV ?= .venv
CASE ?= cases/flat_press_nmc.toml

.PHONY: install run test test-fast test-all benchmark clean
install:
	bash containers/install.sh

run: install
	$(VENV)/bin/nipstack run $(CASE) --overwrite

# make test: the tests that run in one process are spread over two pytest workers, whole files
# each (module fixtures stay shared); the mpi tests (mpirun -n 2) run after them, alone, so
# that their ranks get the two cores.
test: install
	$(VENV)/bin/python -m pytest -q -n 2 --dist loadfile -m "not mpi" --durations=15 tests
	$(VENV)/bin/python -m pytest -q -m mpi --durations=5 tests

test-fast: install
	$(VENV)/bin/python -m pytest -q -m "not slow and not mpi" --durations=5 tests

test-all: install
	$(VENV)/bin/python -m pytest -q --release --durations=25 tests

benchmark: install
	$(VENV)/bin/python benchmarks/flat_press_timing.py

clean:
	rm -rf results .pytest_cache

# Containers (not part of `make test`: the first build takes ~15 min here). Needs root and
# Debian's buildah and debootstrap. container-base builds the cached base image if missing;
# container-test builds the project image and runs the fast tests and the default case
# (1 and 2 ranks) inside it. See README "Running in a container".
.PHONY: container-base container-test
container-base:
	bash containers/build-base.sh

container-test:
	bash containers/container-test.sh
