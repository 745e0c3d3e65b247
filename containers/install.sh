#!/usr/bin/env bash
# The one install script: creates .venv (Python 3.12) in the repository root if it is missing and
# installs nipstack with its test dependencies from PyPI. Used by `make run`, `make test`,
# .ci/run and containers/Containerfile. Idempotent: a stamp of pyproject.toml skips the pip step
# when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${NIPSTACK_VENV:-$ROOT/.venv}"

find_python() {
    for candidate in "${PYTHON:-}" python3.12 python3 python; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 12) else 1)' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)" || { echo "install.sh: Python >= 3.12 is required (pyenv: see .python-version)" >&2; exit 1; }
    echo "install.sh: creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.nipstack-installed"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # dolfinx-solver-real brings DOLFINx 0.11 with real PETSc, petsc4py, mpi4py and the mpich
    # wheel; never install PyPI petsc/petsc4py beside it.
    "$VENV/bin/python" -m pip install --quiet -e ".[test]"
    echo "$WANT" > "$STAMP"
fi
"$VENV/bin/python" -c "import dolfinx_solver, dolfinx, nipstack; print('nipstack', nipstack.__version__, 'with DOLFINx', dolfinx.__version__)"
