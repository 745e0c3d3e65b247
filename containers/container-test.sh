#!/usr/bin/env bash
# `make container-test`: builds the nipstack image on this machine and runs, inside it, the fast
# tests, the default case on 1 rank and the default case on 2 ranks (MPI in the container).
#
#   1. the base image (containers/build-base.sh), only if it is not already in buildah storage;
#   2. the project image from containers/Containerfile (containers/install.sh inside);
#   3. one working container of that image, in which it runs
#        make test-fast
#        nipstack run cases/flat_press_nmc.toml --overwrite
#        mpirun -n 2 nipstack run cases/flat_press_nmc.toml --out results/flat_press_nmc_2ranks --overwrite
#      (one container, so the forms compiled by the DOLFINx JIT during the tests are reused);
#   4. a summary: the time of each step and the image size.
#
# buildah runs with the vfs storage driver and chroot isolation: no daemon, no overlay or
# namespaces needed, which is what works here. Exits non-zero on the first failure.
# Environment: IMAGE, BASE_IMAGE (passed to the Containerfile as BASE), KEEP_CONTAINER=1,
# PYTEST_ADDOPTS (passed on to pytest inside).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGE="${IMAGE:-localhost/nipstack:latest}"
export BASE_IMAGE="${BASE_IMAGE:-localhost/nipstack-base:bookworm-py3.12}"
BUILDAH=(buildah --storage-driver vfs)
say() { echo "container-test: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
command -v buildah >/dev/null || die "buildah is missing: apt-get install -y buildah debootstrap"

declare -a SUMMARY=()
step() {  # step NAME COMMAND...: runs COMMAND, records its wall time, stops on failure
    local name="$1"; shift
    local t0=$SECONDS
    say "== $name"
    "$@" || die "$name (exit $?)"
    SUMMARY+=("$(printf '%-34s %5d s' "$name" $((SECONDS - t0)))")
}

base_was_cached=yes
"${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 || base_was_cached=no
step "base image ($BASE_IMAGE)" bash containers/build-base.sh
[ "$base_was_cached" = yes ] && SUMMARY[-1]="${SUMMARY[-1]}  (cached)"

# .git stays out of the image (.dockerignore); the commit it was built from is a label.
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
# Behind a TLS-intercepting proxy the host's pip trusts an extra CA through PIP_CERT (or
# SSL_CERT_FILE). Give the pip step of the build the same file, mounted read-only for the build
# only (it is not copied into the image); without one, pip in the build uses certifi as usual.
declare -a ca_args=()
ca="${PIP_CERT:-${SSL_CERT_FILE:-}}"
if [ -n "$ca" ] && [ -f "$ca" ]; then
    say "pip in the build trusts the CA file of the host's pip (PIP_CERT/SSL_CERT_FILE), mounted read-only"
    ca_args=(--volume "$ca:/run/nipstack-build-ca.pem:ro" --build-arg PIP_CERT=/run/nipstack-build-ca.pem)
fi
step "project image ($IMAGE)" "${BUILDAH[@]}" bud --isolation chroot --quiet \
    --build-arg "BASE=$BASE_IMAGE" --label "nipstack.commit=$commit" "${ca_args[@]}" \
    -f containers/Containerfile -t "$IMAGE" .
# A rebuild leaves the previous project image untagged: vfs stores every layer in full.
"${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true

CTR="$("${BUILDAH[@]}" from --quiet "$IMAGE")"
cleanup() {
    if [ -n "${KEEP_CONTAINER:-}" ]; then say "kept working container $CTR"; return; fi
    "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# PYTEST_ADDOPTS, when set on the host, is passed to the tests inside (e.g. --deselect ...).
declare -a env_args=()
[ -n "${PYTEST_ADDOPTS:-}" ] && env_args=(--env "PYTEST_ADDOPTS=$PYTEST_ADDOPTS")
inside() { "${BUILDAH[@]}" run --isolation chroot "${env_args[@]}" "$CTR" -- "$@"; }

step "fast tests (make test-fast)" inside make test-fast
step "default case, 1 rank" inside nipstack run cases/flat_press_nmc.toml --overwrite
step "default case, mpirun -n 2" inside mpirun -n 2 nipstack run cases/flat_press_nmc.toml \
    --out results/flat_press_nmc_2ranks --overwrite
# Both runs must have written their summary and their picture (off-screen rendering works).
for out in results/flat_press_nmc results/flat_press_nmc_2ranks; do
    inside test -s "$out/summary.json" -a -s "$out/porosity.png" \
        || die "$out inside the container lacks summary.json or porosity.png"
done

size="$("${BUILDAH[@]}" images --format '{{.Size}}' "$IMAGE")"
base_size="$("${BUILDAH[@]}" images --format '{{.Size}}' "$BASE_IMAGE")"
say "passed"
printf '%s\n' "${SUMMARY[@]}" >&2
say "image $IMAGE: $size (base $BASE_IMAGE: $base_size)"
