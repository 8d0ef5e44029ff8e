#!/usr/bin/env bash
# Runs the end-to-end tests: the real app in a real webview (Xvfb + tauri-driver +
# WebKitWebDriver), driven by Python selenium (tests/e2e/). Extra arguments go to pytest:
#
#   scripts/e2e.sh                       # everything
#   scripts/e2e.sh -k card               # one test
#   TILLBOOK_E2E_DISPLAY=host scripts/e2e.sh   # on your own $DISPLAY, to watch
#
# Installs what is missing (scripts/setup.sh) and builds the app, the server and the CLI,
# unless TILLBOOK_E2E_NO_BUILD=1 (scripts/test.sh has built them already). Screenshots,
# page sources and the app's logs of failed tests go to target/e2e-artifacts/TEST/.
#
# Ends with one line `e2e result: P passed; F failed; S skipped`. A test that cannot run
# (no display possible, no tauri-driver...) is skipped, never passed; under CI=true a skip
# fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

ART="$TILLBOOK_TARGET/e2e-artifacts"
mkdir -p "$ART"
junit="$ART/junit.xml"
rm -f "$junit"

tests_defined() { grep -hcE '^def test_' tests/e2e/test_*.py | awk '{ n += $1 } END { print n + 0 }'; }

not_run() {
    echo "e2e: not run: $*"
    echo "e2e result: 0 passed; 0 failed; $(tests_defined) skipped"
    if [ "${CI:-}" = "true" ]; then
        echo "under CI the e2e tests must run"
        exit 1
    fi
    exit 0
}

if [ "${TILLBOOK_E2E_NO_BUILD:-}" != "1" ]; then
    setup_system
    setup_node
    setup_ui
    setup_tauri_driver
    # The same selection as scripts/test.sh, so the tauri stack is built once for both (another
    # selection unifies features differently and rebuilds it).
    cargo build --workspace --all-targets --locked
fi
setup_e2e_python || not_run "no Python venv with tests/e2e/requirements.txt"

set +e
(cd tests/e2e && "$E2E_PY" -m pytest -rA --durations=0 --junitxml="$junit" "$@")
rc=$?
set -e

if [ ! -f "$junit" ]; then
    echo "e2e: pytest wrote no report (exit $rc)"
    echo "e2e result: 0 passed; 1 failed; 0 skipped"
    exit 1
fi
read -r passed failed skipped < <("$E2E_PY" - "$junit" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
s = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - s, f, s)
EOF
)
echo "e2e result: $passed passed; $failed failed; $skipped skipped"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "e2e: pytest exited with $rc"
    exit "$rc"
fi
if [ "$failed" -ne 0 ]; then
    echo "e2e: artifacts of the failed tests are in $ART/"
    exit 1
fi
if [ "$skipped" -ne 0 ] && [ "${CI:-}" = "true" ]; then
    echo "under CI every e2e test must run, and $skipped were skipped"
    exit 1
fi
if [ "$passed" -eq 0 ] && [ "${CI:-}" = "true" ]; then
    echo "under CI the e2e tests must run, and none did"
    exit 1
fi
exit 0
