#!/usr/bin/env bash
# Builds the base image of containers/Containerfile from sources this machine can reach: a
# Debian bookworm root file system made by debootstrap from deb.debian.org, plus a CPython 3.12,
# imported into buildah's storage (vfs driver, chroot isolation: no daemon, no overlay mounts).
#
#   bash containers/build-base.sh          # builds $BASE_IMAGE unless it is already in storage
#   FORCE=1 bash containers/build-base.sh  # rebuilds it
#
# Why CPython 3.12 is copied in rather than taken from Debian: the FEniCSx wheel
# (dolfinx-solver-real) is built for exactly Python 3.12; bookworm ships 3.11 only (no python3.12 package,
# binary or source), trixie ships 3.13, and python.org is out of reach here. The
# machine has a CPython 3.12 built from source on bookworm (pyenv; the same interpreter that
# containers/install.sh uses for .venv on the host), linked only against bookworm's libraries.
# So the script copies that interpreter into /usr/local (the layout of the official
# python:3.12-slim image), installs the Debian packages of the libraries it links against, and
# checks inside the new root file system that every extension module resolves its libraries and
# that ssl, sqlite3, ctypes, venv and friends import. _tkinter is left without Tcl/Tk (no GUI here).
# Sites with network can skip all of this: `--build-arg BASE=python:3.12-slim` (see README).
#
# Environment: BASE_IMAGE (image name), PYTHON312 (a python3.12 to copy; its base_prefix is
# used, so a venv's python works too), DEBIAN_MIRROR, DEBIAN_SUITE, FORCE=1, KEEP_ROOTFS=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-localhost/nipstack-base:bookworm-py3.12}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
PYTHON312="${PYTHON312:-python3.12}"
BUILDAH=(buildah --storage-driver vfs)
say() { echo "build-base: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and buildah's vfs storage)"
for tool in debootstrap buildah tar; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y debootstrap buildah"
done

if [ -z "${FORCE:-}" ] && "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    say "$BASE_IMAGE is already in buildah storage (FORCE=1 rebuilds it)"
    exit 0
fi

# The interpreter to copy: a CPython 3.12 with a shared libpython (pyenv builds one).
PYPREFIX="$(cd "$ROOT" && "$PYTHON312" -c 'import sys; assert sys.version_info[:2] == (3, 12), sys.version; print(sys.base_prefix)')" \
    || die "$PYTHON312 is not a Python 3.12 (set PYTHON312=/path/to/python3.12)"
PYVERSION="$("$PYPREFIX/bin/python3.12" -c 'import platform; print(platform.python_version())')"
[ -f "$PYPREFIX/lib/libpython3.12.so.1.0" ] || die "$PYPREFIX has no lib/libpython3.12.so.1.0 (need a --enable-shared build)"
[ -d "$PYPREFIX/lib/python3.12/lib-dynload" ] || die "$PYPREFIX/lib/python3.12 is not a CPython standard library"
say "copying CPython $PYVERSION from $PYPREFIX"

# The Debian packages: the libraries that interpreter links against, then what the project
# needs at run time (containers/debian-packages.txt, shared with the Containerfile).
PY_LIBS="ca-certificates libbz2-1.0 libexpat1 libffi8 liblzma5 libncursesw6 libnsl2 \
libreadline8 libsqlite3-0 libssl3 libtirpc3 libuuid1 zlib1g"
PROJECT_PKGS="$(grep -v '^#' "$ROOT/containers/debian-packages.txt" | tr -s ' \n' ' ')"
INCLUDE="$(echo $PY_LIBS $PROJECT_PKGS | tr ' ' ',')"

WORK="$(mktemp -d /var/tmp/nipstack-base.XXXXXX)"
CTR=""
cleanup() {
    [ -n "$CTR" ] && "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1 || true
    if [ -z "${KEEP_ROOTFS:-}" ]; then rm -rf "$WORK"; else say "kept $WORK"; fi
}
trap cleanup EXIT
ROOTFS="$WORK/rootfs"

t0=$SECONDS
say "debootstrap $DEBIAN_SUITE (minbase) from $DEBIAN_MIRROR into $ROOTFS"
debootstrap --variant=minbase --include="$INCLUDE" "$DEBIAN_SUITE" "$ROOTFS" "$DEBIAN_MIRROR" \
    > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
say "debootstrap done in $((SECONDS - t0)) s"

# Sources for later apt-get runs inside the image (security updates are applied below).
cat > "$ROOTFS/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main
EOF

# CPython into /usr/local: the interpreter, libpython, the standard library without its test
# suite and without the host's site-packages (venvs bring their own pip via ensurepip).
install -d "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib" "$ROOTFS/usr/local/include"
cp -a "$PYPREFIX/bin/python3.12" "$ROOTFS/usr/local/bin/"
ln -sf python3.12 "$ROOTFS/usr/local/bin/python3"
ln -sf python3.12 "$ROOTFS/usr/local/bin/python"
cp -a "$PYPREFIX"/lib/libpython3*.so* "$ROOTFS/usr/local/lib/"
tar -C "$PYPREFIX/lib" --exclude='python3.12/site-packages/*' --exclude='python3.12/test' \
    --exclude='__pycache__' -cf - python3.12 | tar -C "$ROOTFS/usr/local/lib" -xf -
cp -a "$PYPREFIX/include/python3.12" "$ROOTFS/usr/local/include/"
chroot "$ROOTFS" /sbin/ldconfig

# Check the copy in the new root: every extension module but _tkinter finds its libraries,
# the modules pip, venv and the FEniCSx JIT use import, and a venv with pip can be made.
missing="$(chroot "$ROOTFS" /bin/sh -c 'for f in /usr/local/bin/python3.12 /usr/local/lib/python3.12/lib-dynload/*.so; do
    case "$f" in *_tkinter*) continue;; esac; ldd "$f" | sed -n "s|^|$f: |; /not found/p"; done')"
[ -z "$missing" ] || die "libraries missing in the image for CPython:"$'\n'"$missing"
chroot "$ROOTFS" /usr/local/bin/python3.12 -c '
import bz2, ctypes, curses, decimal, hashlib, lzma, readline, sqlite3, ssl, uuid, zlib, venv, ensurepip
import sysconfig, os
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")), "no Python.h"
' || die "the copied CPython does not import its standard modules"
chroot "$ROOTFS" /bin/sh -c '/usr/local/bin/python3.12 -m venv /tmp/venv-check && /tmp/venv-check/bin/python -m pip --version && rm -rf /tmp/venv-check' \
    >/dev/null || die "python3.12 -m venv does not work in the image"

# Import into buildah storage, apply bookworm security updates, set the image metadata.
say "importing into buildah storage as $BASE_IMAGE"
tar --numeric-owner -C "$ROOTFS" -cf "$WORK/rootfs.tar" .
rm -rf "$ROOTFS"
CTR="$("${BUILDAH[@]}" from scratch)"
"${BUILDAH[@]}" add "$CTR" "$WORK/rootfs.tar" / >/dev/null
rm -f "$WORK/rootfs.tar"
"${BUILDAH[@]}" run --isolation chroot "$CTR" -- /bin/sh -c \
    'export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && apt-get -qy upgrade >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*' \
    || die "apt-get upgrade inside the base failed"
"${BUILDAH[@]}" config \
    --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 \
    --cmd /bin/bash \
    --label org.opencontainers.image.description="Debian $DEBIAN_SUITE (debootstrap minbase) + CPython $PYVERSION in /usr/local, base of nipstack" \
    --label nipstack.base.python="CPython $PYVERSION copied from $PYPREFIX" \
    --label nipstack.base.debian="$DEBIAN_SUITE from $DEBIAN_MIRROR" \
    "$CTR"
"${BUILDAH[@]}" commit --quiet --rm "$CTR" "$BASE_IMAGE" >/dev/null
CTR=""
say "built $BASE_IMAGE in $((SECONDS - t0)) s ($("${BUILDAH[@]}" images --format '{{.Size}}' "$BASE_IMAGE"))"
