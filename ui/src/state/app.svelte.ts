// What the whole app knows about the till: app_info (shop, cashier, shift, locale, currency).

import { api, asAppError, type AppError, type AppInfo } from "../lib/api";
import { formatMoney, parseMoney } from "../lib/money";

export const app = $state({
  info: null as AppInfo | null,
  /** A failure to start (app_info failed). */
  error: null as AppError | null,
});

export async function loadInfo(): Promise<void> {
  try {
    app.info = await api.appInfo();
    app.error = null;
  } catch (e) {
    app.error = asAppError(e);
  }
}

export function locale(): string {
  return app.info?.locale ?? "en-US";
}

export function currency(): string {
  return app.info?.currency ?? "BRL";
}

/** Formats minor units in the till's currency and locale. */
export function money(q: number, cur: string = currency()): string {
  return formatMoney(q, cur, locale());
}

/** Parses a typed amount in the till's locale into minor units (null if not an amount). */
export function parseAmount(text: string, cur: string = currency()): number | null {
  return parseMoney(text, cur, locale());
}
