// The sale in progress: the basket (opened lazily), its checkout, payments and receipt. Every
// backend call for the basket goes through one queue, so a fast scanner's codes apply in order.

import {
  api,
  AppError,
  asAppError,
  type Basket,
  type Checkout,
  type PayResult,
  type PaymentLine,
  type ReceiptInfo,
  type TabSummary,
  type TenderInput,
} from "../lib/api";
import { go, replace } from "./router.svelte";

export interface Message {
  /** The error code, or "" for information. */
  code: string;
  text: string;
  kind: "error" | "info";
}

export const sale = $state({
  key: null as string | null,
  basket: null as Basket | null,
  /** The line the keyboard acts on (+, −, Delete, F8). */
  selected: null as string | null,
  /** Set once the basket is committed as an order: the basket can no longer change. */
  checkout: null as Checkout | null,
  pay: null as PayResult | null,
  /** Every payment attempt on the order so far (each pay call reports its own). */
  payments: [] as PaymentLine[],
  payError: null as { code: string; message: string } | null,
  paying: false,
  receipt: null as ReceiptInfo | null,
  receiptError: null as AppError | null,
  message: null as Message | null,
});

let queue: Promise<unknown> = Promise.resolve();

/** Runs `f` after every earlier basket call has finished. */
function enqueue<T>(f: () => Promise<T>): Promise<T> {
  const run = queue.then(f, f);
  queue = run.catch(() => undefined);
  return run;
}

/** What to show for a tab's stored handle: `tab:Ana` → `Ana`; `table:4` as it is. */
export function handleLabel(handle: string | null | undefined): string {
  return handle ? handle.replace(/^tab:/, "") : "";
}

export function say(text: string, code = "", kind: Message["kind"] = code ? "error" : "info"): void {
  sale.message = { code, text, kind };
}

export function clearMessage(): void {
  sale.message = null;
}

function show(e: unknown): AppError {
  const err = asAppError(e);
  say(err.message, err.code, "error");
  return err;
}

async function ensureKey(): Promise<string> {
  if (sale.key) return sale.key;
  const b = await api.basketOpen(null);
  sale.key = b.key;
  sale.basket = b;
  return b.key;
}

function setBasket(b: Basket, select?: string | null): void {
  sale.basket = b;
  sale.key = b.key;
  if (select !== undefined) sale.selected = select;
  if (sale.selected && !b.lines.some((l) => l.line_id === sale.selected)) sale.selected = null;
  if (!sale.selected && b.lines.length) sale.selected = b.lines[b.lines.length - 1].line_id;
}

/** The line most recently changed between two baskets (the added or grown one). */
function changedLine(before: Basket | null, after: Basket): string | null {
  const old = new Map((before?.lines ?? []).map((l) => [l.line_id, l.qty]));
  for (const l of after.lines) if (old.get(l.line_id) !== l.qty) return l.line_id;
  return null;
}

function editable(): boolean {
  if (sale.checkout) {
    say(`Order ${sale.checkout.order_ref} is checked out: pay it (F12) or start a new sale (Ctrl+N).`, "order_checked_out");
    return false;
  }
  return true;
}

/** Edits the basket with `f`; on failure shows the message and leaves the basket as it was. */
function edit(f: (key: string) => Promise<Basket>, select?: "changed"): Promise<boolean> {
  if (!editable()) return Promise.resolve(false);
  return enqueue(async () => {
    try {
      const before = sale.basket;
      const b = await f(await ensureKey());
      setBasket(b, select ? (changedLine(before, b) ?? sale.selected) : undefined);
      clearMessage();
      return true;
    } catch (e) {
      show(e);
      return false;
    }
  });
}

export const scan = (input: string) => edit((k) => api.basketScan(k, input), "changed");
export const addSku = (sku: string, qty = 1) => edit((k) => api.basketAdd(k, sku, qty), "changed");
/** One more / one less: the quantity is read when the call runs, so fast presses all count. */
export const bumpQty = (lineId: string, delta: number) =>
  edit((k) => {
    const line = sale.basket?.lines.find((l) => l.line_id === lineId);
    if (!line) throw new AppError("unknown_line", "That line is no longer in the basket.");
    return api.basketSetQty(k, lineId, Math.max(0, line.qty + delta));
  });
export const removeLine = (lineId: string) => edit((k) => api.basketRemove(k, lineId));
export const setNote = (note: string) => edit((k) => api.basketNote(k, note));
export const lineDiscount = (lineId: string, q: number) => edit((k) => api.basketLineDiscount(k, lineId, q));
export const orderDiscount = (q: number) => edit((k) => api.basketDiscount(k, q));

export function selectLine(delta: number): void {
  const lines = sale.basket?.lines ?? [];
  if (!lines.length) return;
  const i = lines.findIndex((l) => l.line_id === sale.selected);
  const j = i < 0 ? lines.length - 1 : Math.min(lines.length - 1, Math.max(0, i + delta));
  sale.selected = lines[j].line_id;
}

export function selectedLine() {
  return sale.basket?.lines.find((l) => l.line_id === sale.selected) ?? null;
}

/** Forgets the current basket and order; the next scan opens a new basket. */
export function resetSale(): void {
  sale.key = null;
  sale.basket = null;
  sale.selected = null;
  sale.checkout = null;
  sale.pay = null;
  sale.payments = [];
  sale.payError = null;
  sale.paying = false;
  sale.receipt = null;
  sale.receiptError = null;
}

/** Receipt → next sale: a new basket, back on Sell. */
export function nextSale(): void {
  resetSale();
  clearMessage();
  replace("sell");
}

/** Leaves the current basket (abandoning it when it has lines and is not an order yet). */
export async function newSale(): Promise<void> {
  const key = sale.key;
  const abandon = key && !sale.checkout && (sale.basket?.lines.length ?? 0) > 0 && !sale.basket?.handle;
  if (abandon) {
    try {
      await enqueue(() => api.basketAbandon(key));
    } catch (e) {
      show(e);
      return;
    }
  }
  resetSale();
  clearMessage();
}

/** Parks the basket as a named tab and starts a new sale; returns the error, if any. */
export async function park(handle: string): Promise<AppError | null> {
  if (!editable()) return new AppError("order_checked_out", sale.message?.text ?? "The basket is already an order.");
  return enqueue(async () => {
    try {
      const tab = await api.basketPark(await ensureKey(), handle);
      resetSale();
      say(`Parked as tab “${tab.label || handle}”. F5 resumes it.`);
      return null;
    } catch (e) {
      return asAppError(e);
    }
  });
}

export async function resume(tab: TabSummary): Promise<void> {
  await enqueue(async () => {
    try {
      const b = await api.basketGet(tab.key);
      resetSale();
      setBasket(b, null);
      say(tab.label ? `Resumed tab “${tab.label}”.` : "Resumed the basket.");
    } catch (e) {
      show(e);
    }
  });
}

let checkingOut: Promise<void> | null = null;

/** F12: commits the basket once (the backend's idempotency key makes a retry the same order). */
export function startPay(): Promise<void> {
  if (checkingOut) return checkingOut;
  if (sale.checkout) {
    go("pay");
    return Promise.resolve();
  }
  checkingOut = enqueue(async () => {
    try {
      if (!sale.key || !sale.basket?.lines.length) {
        say("The basket is empty: scan something first.", "empty_session");
        return;
      }
      sale.checkout = await api.checkout(sale.key);
      sale.pay = null;
      sale.payments = [];
      sale.payError = null;
      clearMessage();
      go("pay");
    } catch (e) {
      show(e);
    }
  }).finally(() => {
    checkingOut = null;
  });
  return checkingOut;
}

/** The amount still due on the order. */
export function amountDue(): number {
  return sale.pay?.amount_due_q ?? sale.checkout?.amount_due_q ?? 0;
}

/** One tender against the order; a decline stays on Pay, shown plainly, and the order stays payable. */
export async function payWith(tender: TenderInput): Promise<boolean> {
  const order = sale.checkout;
  if (!order || sale.paying) return false;
  sale.paying = true;
  sale.payError = null;
  try {
    const r = await api.pay(order.order_ref, tender);
    sale.pay = r;
    const seen = new Set(sale.payments.map((p) => p.payment_id));
    sale.payments.push(...r.payments.filter((p) => !seen.has(p.payment_id)));
    if (r.declined) sale.payError = { code: r.declined.code, message: r.declined.message };
    if (r.paid) await showReceipt(order.order_ref);
    return !r.declined;
  } catch (e) {
    const err = asAppError(e);
    sale.payError = { code: err.code, message: err.message };
    return false;
  } finally {
    sale.paying = false;
  }
}

async function showReceipt(orderRef: string): Promise<void> {
  try {
    sale.receipt = await api.receipt(orderRef);
    sale.receiptError = null;
  } catch (e) {
    sale.receipt = null;
    sale.receiptError = asAppError(e);
  }
  replace("receipt");
}
