#!/usr/bin/env bash
# Installs what building, running and testing the Tillbook app needs on Debian 12, skipping
# whatever is already there. Shared by scripts/test.sh, scripts/demo.sh, scripts/e2e.sh and
# scripts/bench-search.sh, which source it and call the steps they need:
#
#   setup_system        apt: WebKitGTK and the build tools, Xvfb, WebKitWebDriver, imagemagick
#   setup_node          node >= 20.19 and npm (Vite needs it; Debian 12's own node is 18)
#   setup_ui            npm ci in ui/ (when its lock file changed), npm run build -> ui/dist
#   setup_tauri_driver  cargo install tauri-driver --locked --version '^2'
#   setup_e2e_python    a venv in target/e2e-venv with tests/e2e/requirements.txt
#
# Run directly (`scripts/setup.sh [--e2e]`) it does the first three, and with --e2e the last
# two as well. Needs root or passwordless sudo only when an apt package is missing.
set -euo pipefail

TILLBOOK_ROOT=${TILLBOOK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TILLBOOK_TARGET=${CARGO_TARGET_DIR:-$TILLBOOK_ROOT/target}

APP_PACKAGES=(
    libwebkit2gtk-4.1-dev build-essential libssl-dev libxdo-dev libayatana-appindicator3-dev
    librsvg2-dev pkg-config xvfb xauth webkit2gtk-driver imagemagick curl ca-certificates
)

setup_log() { echo "setup: $*" >&2; }

apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { setup_log "need root (or sudo) to install: $*"; return 1; }
        sudo="sudo"
    fi
    setup_log "apt-get install $*"
    $sudo apt-get update -qq >&2
    # With recommends, as the set-up these packages were tried with (fonts, icons, GStreamer
    # bits WebKitGTK expects).
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

missing_packages() {
    local p
    for p in "$@"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
            echo "$p"
        fi
    done
}

setup_system() {
    command -v dpkg-query >/dev/null || { setup_log "not a Debian system: install the equivalents of ${APP_PACKAGES[*]} by hand"; return 0; }
    local missing
    missing=$(missing_packages "${APP_PACKAGES[@]}")
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        apt_install $missing
    fi
}

# Node: Vite 8 needs ^20.19 or >= 22.12. Debian 12's apt has node 18, so when the node found
# is missing or older, node 22 comes from the npm registry's `node-linux-*` package into a
# cache dir that is put first on PATH (npm itself then runs on it).
NODE_CACHE=${TILLBOOK_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tillbook/node}

node_ok() {
    command -v node >/dev/null && command -v npm >/dev/null &&
        node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>22?0:1)' 2>/dev/null
}

setup_node() {
    if [ -x "$NODE_CACHE/node_modules/.bin/node" ]; then
        export PATH="$NODE_CACHE/node_modules/.bin:$PATH"
    fi
    node_ok && return 0
    if ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
    node_ok && return 0
    local arch
    case "$(uname -m)" in
        x86_64) arch=x64 ;;
        aarch64) arch=arm64 ;;
        *) setup_log "no node >= 20.19 for $(uname -m): install one by hand"; return 1 ;;
    esac
    setup_log "node $(node --version 2>/dev/null || echo none) is too old for Vite; installing node 22 into $NODE_CACHE"
    mkdir -p "$NODE_CACHE"
    npm install --prefix "$NODE_CACHE" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@22" >&2
    ln -sf "../node-linux-$arch/bin/node" "$NODE_CACHE/node_modules/.bin/node"
    export PATH="$NODE_CACHE/node_modules/.bin:$PATH"
    node_ok || { setup_log "node is still not usable: $(node --version 2>&1)"; return 1; }
}

# npm ci only when the lock file differs from the one last installed (a fresh clone always
# installs); the build always runs (a few seconds), so ui/dist matches ui/src.
setup_ui() {
    local ui="$TILLBOOK_ROOT/ui" stamp want
    stamp="$ui/node_modules/.tillbook-lock.sha256"
    want=$(sha256sum "$ui/package-lock.json" | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        setup_log "npm ci in ui/"
        (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error) >&2
        echo "$want" >"$stamp"
    fi
    setup_log "npm run build in ui/ -> ui/dist"
    (cd "$ui" && npm run --silent build) >&2
    [ -f "$ui/dist/index.html" ] || { setup_log "ui/dist/index.html missing after the build"; return 1; }
}

setup_tauri_driver() {
    local home=${CARGO_HOME:-$HOME/.cargo}
    if cargo install --list 2>/dev/null | grep -qE '^tauri-driver v2\.'; then
        return 0
    fi
    setup_log "cargo install tauri-driver --locked --version '^2' (about a minute)"
    cargo install tauri-driver --locked --version '^2' --quiet >&2
    [ -x "$home/bin/tauri-driver" ] || command -v tauri-driver >/dev/null
}

E2E_VENV="$TILLBOOK_TARGET/e2e-venv"
E2E_PY="$E2E_VENV/bin/python"

setup_e2e_python() {
    local req="$TILLBOOK_ROOT/tests/e2e/requirements.txt" stamp="$E2E_VENV/.tillbook-req.sha256" want
    if ! command -v python3 >/dev/null; then
        apt_install python3 python3-venv
    fi
    if [ ! -x "$E2E_PY" ]; then
        setup_log "creating $E2E_VENV"
        mkdir -p "$TILLBOOK_TARGET"
        if ! python3 -m venv "$E2E_VENV" >&2; then
            rm -rf "$E2E_VENV"
            apt_install python3-venv
            python3 -m venv "$E2E_VENV" >&2
        fi
    fi
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        setup_log "pip install -r tests/e2e/requirements.txt into $E2E_VENV"
        "$E2E_PY" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
        echo "$want" >"$stamp"
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    setup_system
    setup_node
    setup_ui
    if [ "${1:-}" = "--e2e" ]; then
        setup_tauri_driver
        setup_e2e_python
    fi
fi
