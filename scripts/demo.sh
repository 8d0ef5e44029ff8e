#!/usr/bin/env bash
# The README's run command: the till app, enrolled to a local server, and a sale reaching the
# back office.
#
#   scripts/demo.sh          # the app + a local tillbook-server (embedded SQLite)
#   scripts/demo.sh --cli    # the walk through the till without a screen (the CLI)
#
# On a fresh Debian 12 machine it installs what is missing (scripts/setup.sh), builds the UI
# and the app, starts `tillbook-server --demo` on 127.0.0.1 (database in .tillbook-demo/),
# names a terminal through the admin API, makes the till's book (`tillbook init --demo`),
# enrols it with the one-time code, opens a shift, starts the app on that book and rings up
# one sale with the CLI on the same book; the app's sync sends it to the server, and the
# script prints the admin API's orders. With a display the app stays open until you close
# it; with none ($DISPLAY empty) it runs under Xvfb, saves a screenshot and stops.
# Every run starts afresh in .tillbook-demo/ (or $TILLBOOK_DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=${TILLBOOK_DEMO_DIR:-$ROOT/.tillbook-demo}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
till=$TARGET/debug/tillbook

# ---------------------------------------------------------------------------------------------
# scripts/demo.sh --cli: the till without a screen, on its own book.
if [ "${1:-}" = "--cli" ]; then
    cargo build -q --locked -p tillbook-cli
    export TILLBOOK_DATA_DIR=${TILLBOOK_DATA_DIR:-$DEMO/cli}
    if [ ! -f "$TILLBOOK_DATA_DIR/book.sqlite" ]; then
      "$till" init --demo
    fi
    echo; echo "Orders:"; "$till" order list
    echo; echo "Stock:"; "$till" stock show
    echo; echo "Ring up a sale:"
    key=$("$till" session open)
    "$till" session add "$key" CAPPUCCINO --qty 2 >/dev/null
    "$till" session add "$key" CARROT_CAKE >/dev/null
    "$till" session show "$key"
    ref=$("$till" commit "$key" --idempotency-key "demo-$(date +%s%N)" | awk '/^Committed/ {print $2}')
    echo; echo "Pay $ref: R\$ 10,00 by Pix, the rest in cash from a R\$ 20,00 note:"
    "$till" pay "$ref" --method pix --amount 1000 --cash 2000
    echo; "$till" order show "$ref"
    echo; echo "Its receipt (ESC/POS bytes for an 80 mm printer in $TILLBOOK_DATA_DIR/receipt.bin):"
    "$till" receipt "$ref" --escpos "$TILLBOOK_DATA_DIR/receipt.bin"
    echo; echo "The shift so far (X-report; close it with: $till shift close --counted N):"
    "$till" shift x-report
    echo; echo "Book: $TILLBOOK_DATA_DIR  (try: TILLBOOK_DATA_DIR=$TILLBOOK_DATA_DIR $till --help)"
    exit 0
fi
if [ "$#" -ne 0 ]; then
    echo "usage: $0 [--cli]" >&2
    exit 2
fi

say() { echo "demo: $*"; }

# ---------------------------------------------------------------------------------------------
# Install and build.
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
say "checking the system packages, node and the UI (installing what is missing)"
setup_system
setup_node
setup_ui
say "building the app, the server and the CLI"
# The same selection as scripts/test.sh, so the tauri stack is built once for both (another
# selection unifies features differently and rebuilds it).
cargo build -q --workspace --all-targets --locked

# ---------------------------------------------------------------------------------------------
# Start afresh; stop what we started (by PID) on the way out.
SERVER_PID="" APP_PID="" XVFB_PID=""
cleanup() {
    local pid
    for pid in $APP_PID $SERVER_PID $XVFB_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $APP_PID $SERVER_PID $XVFB_PID; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$DEMO/server.db" "$DEMO/server.db-wal" "$DEMO/server.db-shm" "$DEMO/till" "$DEMO"/*.log "$DEMO/screenshot.png"
mkdir -p "$DEMO"
BOOK=$DEMO/till

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 30000))
}
PORT=${TILLBOOK_DEMO_PORT:-8740}
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    PORT=$(free_port)
fi
URL=http://127.0.0.1:$PORT
TOKEN=demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
admin() { curl -sS --fail-with-body -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }

say "starting tillbook-server --demo on $URL (database $DEMO/server.db, log $DEMO/server.log)"
"$TARGET/debug/tillbook-server" --listen "127.0.0.1:$PORT" --database "sqlite:$DEMO/server.db" \
    --admin-token "$TOKEN" --demo >"$DEMO/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -sf "$URL/v1/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DEMO/server.log"; exit 1; }
    sleep 0.1
done
curl -sf "$URL/v1/health" >/dev/null || { say "the server did not answer"; cat "$DEMO/server.log"; exit 1; }

say "the back office names a terminal: POST /v1/admin/terminals {\"name\": \"Counter 1\"}"
created=$(admin -d '{"name": "Counter 1"}' "$URL/v1/admin/terminals")
code=$(echo "$created" | sed -n 's/.*"enrollment_code":"\([^"]*\)".*/\1/p')
[ -n "$code" ] || { say "no enrolment code in: $created"; exit 1; }

say "making the till's book in $BOOK and enrolling it with code $code"
"$till" --data-dir "$BOOK" init --demo >/dev/null
"$till" --data-dir "$BOOK" enroll --server "$URL" --code "$code"
"$till" --data-dir "$BOOK" shift open --float 20000 >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------------
# The app: on this display, or under Xvfb when there is none.
HEADLESS=0
if [ -z "${DISPLAY:-}" ]; then
    HEADLESS=1
    rm -f "$DEMO/display"
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$DEMO/display" >"$DEMO/xvfb.log" 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 100); do [ -s "$DEMO/display" ] && break; sleep 0.1; done
    [ -s "$DEMO/display" ] || { say "Xvfb did not start"; cat "$DEMO/xvfb.log"; exit 1; }
    export DISPLAY=":$(tr -d '\n' <"$DEMO/display")"
    say "no display: running the app under Xvfb on $DISPLAY"
fi
say "starting the app on the book (TILLBOOK_DATA_DIR=$BOOK; its log in $BOOK/logs/)"
TILLBOOK_DATA_DIR=$BOOK NO_AT_BRIDGE=1 "$TARGET/debug/tillbook-app" >"$DEMO/app.log" 2>&1 &
APP_PID=$!

# ---------------------------------------------------------------------------------------------
# One sale, rung up with the CLI on the same book while the app runs; the app syncs it.
say "ringing up a sale on the same book with the CLI: 2 cappuccinos and a carrot cake, paid by Pix and cash"
key=$("$till" --data-dir "$BOOK" session open)
"$till" --data-dir "$BOOK" session add "$key" CAPPUCCINO --qty 2 >/dev/null
"$till" --data-dir "$BOOK" session add "$key" CARROT_CAKE >/dev/null
ref=$("$till" --data-dir "$BOOK" commit "$key" --idempotency-key "demo-$(date +%s%N)" | awk '/^Committed/ {print $2}')
"$till" --data-dir "$BOOK" pay "$ref" --method pix --amount 1000 --cash 2000 >/dev/null
say "sold $ref; waiting for the app's sync to send it to the server"
synced=0
for _ in $(seq 60); do
    if admin "$URL/v1/admin/orders?store=main" 2>/dev/null | grep -q "\"$ref\""; then synced=1; break; fi
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.5
done
if [ "$synced" -eq 0 ]; then
    say "the app did not send it within 30 s (see $DEMO/app.log); sending it with: tillbook sync run"
    "$till" --data-dir "$BOOK" sync run >/dev/null || true
fi

echo
echo "The back office's orders, as the admin API lists them$([ "$HEADLESS" -eq 1 ] && echo " (while the server runs)"):"
echo "  curl -s -H 'authorization: Bearer $TOKEN' '$URL/v1/admin/orders?store=main'"
orders=$(admin "$URL/v1/admin/orders?store=main")
python3 - "$orders" 2>/dev/null <<'EOF_PY' || echo "$orders"
import json, sys
for o in json.loads(sys.argv[1])["orders"]:
    print(f"  {o['ref']}  {o['terminal_code']} {o['terminal_name']:<10}  {o['status']:<9}  {o['currency']} {o['total_q'] / 100:.2f}  {o['committed_at']}")
EOF_PY
echo

if [ "$HEADLESS" -eq 1 ]; then
    # Wait until the window shows something (an all-black or all-white screen has no
    # variation), let it settle, and take the picture.
    shot=$DEMO/screenshot.png
    shown=0
    for _ in $(seq 60); do
        kill -0 "$APP_PID" 2>/dev/null || { say "the app exited:"; cat "$DEMO/app.log"; exit 1; }
        if import -window root "$shot" 2>/dev/null &&
            [ "$(convert "$shot" -format '%[fx:standard_deviation>0.02]' info: 2>/dev/null)" = "1" ]; then
            shown=1
            break
        fi
        sleep 1
    done
    sleep 2
    import -window root "$shot"
    if [ "$shown" -eq 1 ]; then
        say "the app's window under Xvfb: $shot"
    else
        say "the window stayed blank for 60 s; the screen as it was: $shot (app log: $DEMO/app.log)"
    fi
    say "stopping the app and the server (run with a display to use the app; scripts/demo.sh --cli for the CLI)"
    exit 0
fi

cat <<EOF
The app is open on the till's book, enrolled to $URL as terminal T01.
Sell by keyboard: type ESPRESSO (or scan a barcode) and Enter, 3*LATTE and Enter, F12 to pay,
Enter for exact cash (or type 50 and Enter for change), Enter for the next sale. F1 lists
every shortcut. Then see your sale in the back office with the curl command above.
Close the window (or Ctrl-C here) to stop the app and the server.
EOF
wait "$APP_PID" || true
APP_PID=""
