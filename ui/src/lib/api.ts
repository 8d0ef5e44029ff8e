// The one module that talks to the backend. Screens call `api.*` and catch `AppError`, branching
// on its `code` (the book's stable error codes), never on the message text.
//
// The real implementation wraps the `commands`/`events` that tauri-specta generates from the
// app crate's Rust types. In `npm run dev` only, `?fake` in the URL swaps in an in-memory fake so
// the screens can be tried in a plain browser; a production build never contains it.

import { commands, events } from "./bindings";
import type {
  AppInfo,
  Basket,
  CatalogItem,
  Checkout,
  PayResult,
  ReceiptInfo,
  SettingsInfo,
  SettingsInput,
  SyncInfo,
  TabSummary,
  TenderInput,
} from "./bindings";

export type {
  AppInfo,
  Basket,
  BasketIssue,
  BasketLine,
  CatalogItem,
  Checkout,
  PayResult,
  PaymentLine,
  ReceiptInfo,
  SettingsInfo,
  SettingsInput,
  ShiftInfo,
  SyncInfo,
  TabSummary,
  TenderInput,
} from "./bindings";

type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

/** A backend failure: `code` is stable and machine-readable, `message` is for people. */
export class AppError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "AppError";
    this.code = code;
  }
}

/** Anything thrown, as an AppError (a non-AppError becomes code `internal`). */
export function asAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    return new AppError(String(e.code), String(e.message));
  }
  return new AppError("internal", e instanceof Error ? e.message : String(e));
}

export interface Api {
  appInfo(): Promise<AppInfo>;
  catalog(): Promise<CatalogItem[]>;
  basketOpen(handle: string | null): Promise<Basket>;
  basketGet(key: string): Promise<Basket>;
  basketScan(key: string, input: string): Promise<Basket>;
  basketAdd(key: string, sku: string, qty: number): Promise<Basket>;
  basketSetQty(key: string, lineId: string, qty: number): Promise<Basket>;
  basketRemove(key: string, lineId: string): Promise<Basket>;
  basketNote(key: string, note: string): Promise<Basket>;
  basketLineDiscount(key: string, lineId: string, discountQ: number): Promise<Basket>;
  basketDiscount(key: string, discountQ: number): Promise<Basket>;
  basketPark(key: string, handle: string): Promise<TabSummary>;
  tabs(): Promise<TabSummary[]>;
  basketAbandon(key: string): Promise<void>;
  checkout(key: string): Promise<Checkout>;
  pay(orderRef: string, tender: TenderInput): Promise<PayResult>;
  receipt(orderRef: string): Promise<ReceiptInfo>;
  syncInfo(): Promise<SyncInfo>;
  syncNow(): Promise<void>;
  settingsGet(): Promise<SettingsInfo>;
  settingsSave(input: SettingsInput): Promise<SettingsInfo>;
  enroll(serverUrl: string, code: string): Promise<SyncInfo>;
  shiftOpen(floatQ: number): Promise<AppInfo>;
  /** Calls `cb` with every `sync-changed` event; resolves to the function that stops listening. */
  onSyncChanged(cb: (info: SyncInfo) => void): Promise<() => void>;
}

async function unwrap<T>(p: Promise<Result<T, { code: string; message: string }>>): Promise<T> {
  let r: Result<T, { code: string; message: string }>;
  try {
    r = await p;
  } catch (e) {
    throw asAppError(e);
  }
  if (r.status === "error") throw new AppError(r.error.code, r.error.message);
  return r.data;
}

const ignore = async (p: Promise<unknown>): Promise<void> => {
  await p;
};

/** The real backend: the Tauri commands of the app crate. */
export const tauriApi: Api = {
  appInfo: () => unwrap(commands.appInfo()),
  catalog: () => unwrap(commands.catalog()),
  basketOpen: (handle) => unwrap(commands.basketOpen(handle)),
  basketGet: (key) => unwrap(commands.basketGet(key)),
  basketScan: (key, input) => unwrap(commands.basketScan(key, input)),
  basketAdd: (key, sku, qty) => unwrap(commands.basketAdd(key, sku, qty)),
  basketSetQty: (key, lineId, qty) => unwrap(commands.basketSetQty(key, lineId, qty)),
  basketRemove: (key, lineId) => unwrap(commands.basketRemove(key, lineId)),
  basketNote: (key, note) => unwrap(commands.basketNote(key, note)),
  basketLineDiscount: (key, lineId, d) => unwrap(commands.basketLineDiscount(key, lineId, d)),
  basketDiscount: (key, d) => unwrap(commands.basketDiscount(key, d)),
  basketPark: (key, handle) => unwrap(commands.basketPark(key, handle)),
  tabs: () => unwrap(commands.tabs()),
  basketAbandon: (key) => ignore(unwrap(commands.basketAbandon(key))),
  checkout: (key) => unwrap(commands.checkout(key)),
  pay: (orderRef, tender) => unwrap(commands.pay(orderRef, tender)),
  receipt: (orderRef) => unwrap(commands.receipt(orderRef)),
  syncInfo: () => unwrap(commands.syncInfo()),
  syncNow: () => ignore(unwrap(commands.syncNow())),
  settingsGet: () => unwrap(commands.settingsGet()),
  settingsSave: (input) => unwrap(commands.settingsSave(input)),
  enroll: (url, code) => unwrap(commands.enroll(url, code)),
  shiftOpen: (floatQ) => unwrap(commands.shiftOpen(floatQ)),
  onSyncChanged: (cb) => events.syncChanged.listen((e) => cb(e.payload)),
};

let current: Api = tauriApi;

/**
 * Picks the implementation once, before the app mounts. Inside Tauri it is always the real one;
 * `import.meta.env.DEV` is false in a production build, so the fake is not even bundled there.
 */
export async function connectApi(): Promise<Api> {
  const inTauri = typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
  if (import.meta.env.DEV && !inTauri && new URLSearchParams(location.search).has("fake")) {
    const { createFakeApi } = await import("./fake/fake");
    current = createFakeApi(new URLSearchParams(location.search));
  }
  return current;
}

/** What screens call. Delegates to the implementation `connectApi` chose. */
export const api: Api = new Proxy({} as Api, {
  get: (_t, prop: string) => (current as unknown as Record<string, unknown>)[prop],
});
