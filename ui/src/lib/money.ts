// Money is integer minor units (`_q`) everywhere. Floats appear only inside `formatMoney`, for
// display; typed amounts are parsed into minor units by string manipulation, never parseFloat.

const DIGITS: Record<string, number> = {
  BRL: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  ARS: 2,
  MXN: 2,
  CAD: 2,
  JPY: 0,
  CLP: 0,
  KRW: 0,
};

/** Minor-unit digits of a currency (2 unless known otherwise). */
export function currencyDigits(currency: string): number {
  return DIGITS[currency.toUpperCase()] ?? 2;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale: string): Intl.NumberFormat {
  const k = `${locale}|${currency}`;
  let f = formatters.get(k);
  if (!f) {
    const digits = currencyDigits(currency);
    f = new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formatters.set(k, f);
  }
  return f;
}

/** `1234` BRL in pt-BR → "R$ 12,34" (with the locale's own spacing). */
export function formatMoney(q: number, currency: string, locale: string): string {
  return formatter(currency, locale).format(q / 10 ** currencyDigits(currency));
}

/** The amount alone, without the currency sign: `1234` → "12,34" in pt-BR. */
export function formatAmount(q: number, currency: string, locale: string): string {
  const digits = currencyDigits(currency);
  return new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(
    q / 10 ** digits,
  );
}

/** The locale's decimal and group separators. */
export function separators(locale: string): { decimal: string; group: string } {
  const parts = new Intl.NumberFormat(locale).formatToParts(1234567.5);
  const decimal = parts.find((p) => p.type === "decimal")?.value ?? ".";
  const group = parts.find((p) => p.type === "group")?.value ?? (decimal === "," ? "." : ",");
  return { decimal, group };
}

/** Largest whole-unit digit string accepted (keeps minor units far below 2^53). */
const MAX_INT_DIGITS = 12;

/**
 * Parses an amount as a cashier types it into minor units, or null when it is not an amount.
 * Accepts the locale's own format and the other common one: in pt-BR "20", "20,00", "20.00",
 * "1.234,50", "R$ 1.234,50"; in en-US "20.5", "1,234.50". A lone separator followed by exactly
 * three digits is the locale's grouping when it is the locale's group separator ("1.234" in
 * pt-BR is 1234); more fraction digits than the currency has is an error, never rounded.
 */
export function parseMoney(text: string, currency: string, locale: string): number | null {
  const digits = currencyDigits(currency);
  const { group } = separators(locale);
  // Drop currency signs, letters and every kind of space; keep digits and separators.
  const s = text
    .replace(/[\s\u00a0\u202f]/g, "")
    .replace(/^(R\$|US\$|[$€£¥]|[A-Z]{3})/, "")
    .replace(/([$€£¥]|[A-Z]{3})$/, "");
  if (s === "" || !/^[\d.,]+$/.test(s) || !/\d/.test(s)) return null;

  const seps = [...s].filter((c) => c === "." || c === ",");
  let intPart: string;
  let frac = "";
  if (seps.length === 0) {
    intPart = s;
  } else {
    const last = seps[seps.length - 1];
    const lastAt = s.lastIndexOf(last);
    const kinds = new Set(seps);
    let decimalSep: string | null;
    if (kinds.size === 2) {
      decimalSep = last; // "1.234,50" or "1,234.50": the last one is the decimal point
    } else if (seps.length > 1) {
      decimalSep = null; // "1.234.567": grouping only
    } else {
      const after = s.length - lastAt - 1;
      decimalSep = last === group && after === 3 ? null : last;
    }
    if (digits === 0 && decimalSep !== null) {
      // A currency without minor units: a separator is grouping, or a zero fraction ("100,00").
      const tail = s.slice(s.lastIndexOf(decimalSep) + 1);
      if (/^0*$/.test(tail) && kinds.size === 1 && seps.length === 1) {
        return parseMoney(s.slice(0, s.lastIndexOf(decimalSep)), currency, locale);
      }
      decimalSep = null;
    }
    if (decimalSep === null) {
      if (!validGroups(s)) return null;
      intPart = s.replace(/[.,]/g, "");
    } else {
      const at = s.lastIndexOf(decimalSep);
      const head = s.slice(0, at);
      frac = s.slice(at + 1);
      if (/[.,]/.test(frac)) return null;
      if (head.includes(decimalSep)) return null;
      if (/[.,]/.test(head) && !validGroups(head)) return null;
      intPart = head.replace(/[.,]/g, "");
    }
  }
  if (frac.length > digits) return null;
  if (intPart === "") intPart = "0";
  if (!/^\d+$/.test(intPart) || !/^\d*$/.test(frac)) return null;
  intPart = intPart.replace(/^0+(?=\d)/, "");
  if (intPart.length > MAX_INT_DIGITS) return null;
  return Number(intPart) * 10 ** digits + Number(frac.padEnd(digits, "0") || "0");
}

/** "1.234.567" / "1,234" — groups of three after a first group of one to three digits. */
function validGroups(s: string): boolean {
  const groups = s.split(/[.,]/);
  if (groups.some((g) => g === "")) return false;
  return groups[0].length <= 3 && groups.slice(1).every((g) => g.length === 3);
}

/** Notes (and coins worth offering) per currency, in minor units, for the quick-amount buttons. */
const NOTES: Record<string, number[]> = {
  BRL: [200, 500, 1000, 2000, 5000, 10000, 20000],
  USD: [100, 500, 1000, 2000, 5000, 10000],
  EUR: [500, 1000, 2000, 5000, 10000, 20000],
};

/**
 * Quick cash amounts above `dueQ`: for each note, the smallest multiple of it that covers the
 * due, deduplicated, ascending, at most `max` of them, all strictly above the due (exact is
 * offered separately).
 */
export function quickAmounts(dueQ: number, currency: string, max = 5): number[] {
  const scale = 10 ** currencyDigits(currency);
  const notes = NOTES[currency.toUpperCase()] ?? [1, 5, 10, 20, 50, 100].map((n) => n * scale);
  if (dueQ <= 0) return [];
  const out = new Set<number>();
  for (const n of notes) {
    const v = Math.ceil(dueQ / n) * n;
    if (v > dueQ) out.add(v);
  }
  return [...out].sort((a, b) => a - b).slice(0, max);
}
