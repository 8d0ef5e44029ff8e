// What the Sell screen's buttons and shortcuts do: one function per action, so a button and its
// key can never do different things.

import { openDialog } from "./dialogs.svelte";
import { money } from "./app.svelte";
import {
  bumpQty,
  handleLabel,
  lineDiscount,
  newSale,
  orderDiscount,
  removeLine,
  sale,
  say,
  selectedLine,
  setNote,
  startPay,
} from "./sale.svelte";

export function payAction(): void {
  void startPay();
}

export function parkAction(): void {
  if (sale.checkout) {
    say(`Order ${sale.checkout.order_ref} is already checked out: it cannot be parked.`, "order_checked_out");
    return;
  }
  void openDialog("park", { handle: handleLabel(sale.basket?.handle) });
}

export function tabsAction(): void {
  void openDialog("tabs");
}

export async function noteAction(): Promise<void> {
  const note = await openDialog<string>("note", { note: sale.basket?.note ?? "" });
  if (note !== undefined) await setNote(note);
}

export async function orderDiscountAction(): Promise<void> {
  const b = sale.basket;
  if (!b?.lines.length) {
    say("The basket is empty: nothing to discount.", "empty_session");
    return;
  }
  const q = await openDialog<number>("amount", {
    title: "Discount on the order",
    label: `Amount off the order (subtotal ${money(b.subtotal_q, b.currency)})`,
    initialQ: 0,
    maxQ: b.subtotal_q,
  });
  if (q !== undefined) await orderDiscount(q);
}

export async function lineDiscountAction(lineId?: string): Promise<void> {
  const line = lineId ? sale.basket?.lines.find((l) => l.line_id === lineId) : selectedLine();
  if (!line) {
    say("Select a line first (arrow keys in the scan field).", "no_line_selected");
    return;
  }
  sale.selected = line.line_id;
  const gross = line.unit_price_q * line.qty;
  const q = await openDialog<number>("amount", {
    title: "Discount on a line",
    label: `Amount off ${line.name} × ${line.qty} (${money(gross)})`,
    initialQ: line.discount_q,
    maxQ: gross,
  });
  if (q !== undefined) await lineDiscount(line.line_id, q);
}

export function bumpSelected(delta: number): void {
  const line = selectedLine();
  if (line) void bumpQty(line.line_id, delta);
}

export function removeSelected(): void {
  const line = selectedLine();
  if (line) void removeLine(line.line_id);
}

export async function newSaleAction(): Promise<void> {
  let question: string | null = null;
  if (sale.checkout && !sale.pay?.paid) {
    question = `Order ${sale.checkout.order_ref} is not paid. Leave it unpaid and start a new sale?`;
  } else if (sale.basket?.lines.length && !sale.basket.handle) {
    question = "Abandon this basket and start a new sale?";
  }
  if (question) {
    const yes = await openDialog<boolean>("confirm", { title: "New sale", text: question, yes: "New sale", no: "Keep it" });
    if (!yes) return;
  }
  await newSale();
}
