#!/usr/bin/env bash
# Runs the till with demo data: builds `tillbook`, creates a demo book on first run, and shows
# the orders, the stock and the outbox. The book lives in .tillbook-demo/ (or $TILLBOOK_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p tillbook-cli
till=target/debug/tillbook
export TILLBOOK_DATA_DIR=${TILLBOOK_DATA_DIR:-$PWD/.tillbook-demo}
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
