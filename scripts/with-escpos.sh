#!/usr/bin/env bash
# Runs a command with python-escpos available, for the receipt crate's cross-check.
#
#   scripts/with-escpos.sh cargo test -p tillbook-receipt -- --include-ignored
#
# Creates (once) a Python virtual environment in target/escpos-venv, installing the Debian
# package python3-venv with apt when `python3 -m venv` fails, pip-installs the pinned
# python-escpos version below, exports
#   TILLBOOK_PYESCPOS=<that venv's python>
# and runs the command. Exits with the command's exit code.
set -euo pipefail

# Pinned: the cross-check compares bytes, so a new release must be looked at before use.
PYESCPOS_VERSION="3.1"

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

log() { echo "with-escpos: $*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="${CARGO_TARGET_DIR:-$ROOT/target}/escpos-venv"
PY="$VENV/bin/python"

apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { log "need root (or sudo) to install $*"; exit 1; }
        sudo="sudo"
    fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

if ! command -v python3 >/dev/null; then
    log "python3 not found; installing it with apt"
    apt_install python3 python3-venv
fi

make_venv() {
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" >&2
}

if [ ! -x "$PY" ]; then
    log "creating $VENV"
    if ! make_venv; then
        log "python3 -m venv failed; installing python3-venv with apt"
        apt_install python3-venv
        make_venv || { log "python3 -m venv still fails after installing python3-venv"; exit 1; }
    fi
fi

installed=$("$PY" -c 'import importlib.metadata as m; print(m.version("python-escpos"))' 2>/dev/null || true)
if [ "$installed" != "$PYESCPOS_VERSION" ]; then
    log "installing python-escpos==$PYESCPOS_VERSION into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "python-escpos==$PYESCPOS_VERSION" >&2
fi

export TILLBOOK_PYESCPOS="$PY"
log "python-escpos $PYESCPOS_VERSION ready: TILLBOOK_PYESCPOS=$TILLBOOK_PYESCPOS"

set +e
"$@"
RC=$?
set -e
exit "$RC"
