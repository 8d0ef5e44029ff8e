#!/usr/bin/env bash
# Runs every Tillbook test on a fresh Debian 12 machine with the Rust toolchain.
# Installs what the tests need (PostgreSQL for the server's backend story), starts a
# throw-away PostgreSQL, runs the whole workspace's tests against SQLite and PostgreSQL,
# then smoke-runs the benchmarks so they keep building and running.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUST_BACKTRACE=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== build"
cargo build --workspace --all-targets --locked

echo "== tests (SQLite; PostgreSQL where the server story runs)"
scripts/with-postgres.sh cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"

echo "== benchmark smoke runs (full runs: see README)"
TILLBOOK_BENCH_QUICK=1 cargo bench --locked -p tillbook-orderbook --bench commit
TILLBOOK_BENCH_QUICK=1 scripts/with-postgres.sh cargo bench --locked -p tillbook-server --bench backlog

# One closing line for the whole run: every `test result:` line added up.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
