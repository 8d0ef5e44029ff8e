#!/usr/bin/env bash
# The app's search benchmark: search-as-you-type over a 50,000-SKU catalog (p99 per
# keystroke, key event to painted result; target < 16 ms) and catalog load (target < 1 s),
# in the real app under Xvfb + tauri-driver, against a raw JS baseline in the same run.
# See tests/e2e/bench_search.py. TILLBOOK_BENCH_QUICK=1: fewer keystrokes (the smoke run).
#
# Builds what is missing unless TILLBOOK_E2E_NO_BUILD=1. Prints; never fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
if [ "${TILLBOOK_E2E_NO_BUILD:-}" != "1" ]; then
    setup_system
    setup_node
    setup_ui
    setup_tauri_driver
    # The same selection as scripts/test.sh, so the tauri stack is built once for both (another
    # selection unifies features differently and rebuilds it).
    cargo build --workspace --all-targets --locked
fi
setup_e2e_python
cd tests/e2e
exec "$E2E_PY" bench_search.py "$@"
