#!/usr/bin/env bash
# Runs every Tillbook test on a fresh Debian 12 machine with the Rust toolchain, node and
# python3. Installs what the tests need, skipping what is present (scripts/setup.sh: WebKitGTK
# and the build tools, Xvfb, WebKitWebDriver, tauri-driver; PostgreSQL for the server's backend
# story; python-escpos to check receipts against an ESC/POS implementation the project did not
# write; selenium for the end-to-end tests), builds the UI (ui/dist, which the app crate
# embeds) and runs its unit tests and type check, starts a throw-away PostgreSQL, runs the
# whole workspace's tests against SQLite and PostgreSQL, then the end-to-end tests (the real
# app in a real webview under Xvfb), then smoke-runs the benchmarks so they keep building and
# running.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# One closing line for the whole run: every cargo `test result:` line, the UI's vitest
# `Tests` lines and the `e2e result:` line added up, with the UI and e2e parts also shown.
summary() {
    awk '
    function count(kind,   i) {
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^passed;?$/) { p[kind] += $(i-1) }
            if ($i ~ /^failed;?$/) { f[kind] += $(i-1) }
            if ($i ~ /^(ignored|skipped);?$/) { s[kind] += $(i-1) }
        }
    }
    /^test result:/ { count("rust") }
    /^ +Tests +[0-9]/ { count("ui") }
    /^e2e result:/ { count("e2e") }
    END {
        P = p["rust"] + p["ui"] + p["e2e"]; F = f["rust"] + f["ui"] + f["e2e"]; S = s["rust"] + s["ui"] + s["e2e"]
        printf "all tests: %d passed, %d failed, %d skipped (UI unit: %d passed, %d failed, %d skipped; e2e: %d passed, %d failed, %d skipped)\n", P, F, S, p["ui"], f["ui"], s["ui"], p["e2e"], f["e2e"], s["e2e"]
    }' "$log"
}
took() { echo "took $((SECONDS / 60)) min $((SECONDS % 60)) s"; }

has_npm_script() { (cd ui && node -e 'process.exit(require("./package.json").scripts?.[process.argv[1]] ? 0 : 1)' "$1"); }

echo "== setup (apt packages, node, the UI build, tauri-driver; what is present is skipped) [$((SECONDS / 60))m$((SECONDS % 60))s]"
setup_system
setup_node
setup_ui
setup_tauri_driver

status=0
echo "== UI unit tests and type check [$((SECONDS / 60))m$((SECONDS % 60))s]"
if has_npm_script test; then
    (cd ui && NO_COLOR=1 npm test 2>&1) | tee -a "$log" || status=1
fi
if has_npm_script check; then
    (cd ui && npm run check 2>&1) || { echo "ui: npm run check failed"; status=1; }
fi

echo "== build [$((SECONDS / 60))m$((SECONDS % 60))s]"
cargo build --workspace --all-targets --locked

echo "== tests (SQLite, and the PostgreSQL tests: named *_postgres, ignored unless asked for) [$((SECONDS / 60))m$((SECONDS % 60))s]"
set +e
scripts/with-postgres.sh scripts/with-escpos.sh cargo test --workspace --locked --no-fail-fast -- --include-ignored 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

# Tests that need PostgreSQL are `#[ignore]`d so that a plain `cargo test` reports them
# skipped, never passed. Here they were asked for: each must have run and passed.
# The same holds for the receipt checks against python-escpos (`*_pyescpos`).
for kind in postgres pyescpos; do
    run=$(grep -cE "^test .*_${kind}( - should panic)? \.\.\. ok$" "$log" || true)
    bad=$(grep -E "^test .*_${kind} .*\.\.\. " "$log" | grep -vE '\.\.\. ok$' || true)
    echo "${kind} tests passed: $run"
    if [ -n "$bad" ]; then
        echo "${kind} tests that did not pass:"; echo "$bad"
        status=1
    fi
    if [ "${CI:-}" = "true" ] && [ "$run" -eq 0 ]; then
        echo "under CI the ${kind} tests must run, and none did"
        status=1
    fi
done

# The real app in a real webview (tests/e2e/). A test that cannot run is reported skipped,
# never passed, and under CI=true a skip fails the run (scripts/e2e.sh checks).
echo "== end-to-end tests (Xvfb + tauri-driver + WebKitWebDriver, Python selenium) [$((SECONDS / 60))m$((SECONDS % 60))s]"
set +e
TILLBOOK_E2E_NO_BUILD=1 scripts/e2e.sh 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

if [ "$status" -ne 0 ]; then
    took
    summary
    exit "$status"
fi

echo "== benchmark smoke runs (full runs: see README) [$((SECONDS / 60))m$((SECONDS % 60))s]"
TILLBOOK_BENCH_QUICK=1 cargo bench --locked -p tillbook-orderbook --bench commit
TILLBOOK_BENCH_QUICK=1 cargo bench --locked -p tillbook-orderbook --bench zreport
TILLBOOK_BENCH_QUICK=1 scripts/with-postgres.sh cargo bench --locked -p tillbook-server --bench backlog
TILLBOOK_BENCH_QUICK=1 scripts/with-postgres.sh cargo bench --locked -p tillbook-server --bench stores
TILLBOOK_BENCH_QUICK=1 scripts/with-postgres.sh cargo bench --locked -p tillbook-server --bench report
TILLBOOK_BENCH_QUICK=1 TILLBOOK_E2E_NO_BUILD=1 scripts/bench-search.sh

took
summary
