// DEV ONLY: an in-memory backend for `npm run dev` with `?fake` in the URL, to try the screens
// in a plain browser before (or without) the app crate. api.ts imports it only when
// import.meta.env.DEV is true and the page is not inside Tauri, so a production build never
// contains it. Options: `?fake&n=50000` adds synthetic products; `&noshift` starts with no shift.

import { AppError, type Api, type AppInfo, type Basket, type CatalogItem, type PayResult, type SettingsInfo, type SyncInfo, type TabSummary } from "../api";
import { fakeReceipt } from "./receipt";

const DEMO: [string, string, number, string][] = [
  ["ESPRESSO", "Espresso", 500, "Coffee"],
  ["CAPPUCCINO", "Cappuccino", 700, "Coffee"],
  ["LATTE", "Latte", 750, "Coffee"],
  ["CROISSANT", "Croissant", 650, "Bakery"],
  ["PAIN_AU_CHOCOLAT", "Pain au Chocolat", 750, "Bakery"],
  ["CARROT_CAKE", "Carrot Cake", 800, "Bakery"],
];

const DECLINES: Record<string, [string, string]> = {
  "4000000000000002": ["card_declined", "the card was declined"],
  "4000000000009995": ["insufficient_funds", "the card has insufficient funds"],
  "4000000000000069": ["expired_card", "the card has expired"],
  "4000000000000127": ["incorrect_cvc", "the card's security code is incorrect"],
};

interface Line { line_id: string; sku: string; qty: number; discount_q: number }
interface Session { key: string; handle: string | null; lines: Line[]; note: string | null; discount_q: number; state: "open" | "committed"; updated_at: string }
interface Order { ref: string; key: string; total_q: number; paid_q: number; change_q: number; payments: PayResult["payments"]; lines: Line[] }

function catalogOf(n: number): CatalogItem[] {
  const items: CatalogItem[] = DEMO.map(([sku, name, price_q, category], i) => ({
    sku, name, price_q, category, barcodes: [`789${String(i + 1).padStart(10, "0")}`], variant: null, unique: false, available: true,
  }));
  const words = ["Organic", "Classic", "Dark", "Light", "Spiced", "Vanilla", "Lemon", "Salted", "Honey", "Almond"];
  const kinds = ["Tea", "Juice", "Sandwich", "Cookie", "Soda", "Salad", "Muffin", "Water", "Bagel", "Yogurt"];
  for (let i = 0; i < n; i++) {
    items.push({
      sku: `SKU${String(i).padStart(6, "0")}`,
      name: `${words[i % 10]} ${kinds[Math.floor(i / 10) % 10]} ${i}`,
      price_q: 100 + ((i * 37) % 5000),
      category: `Aisle ${(i % 24) + 1}`,
      barcodes: [String(2_000_000_000_000 + i)],
      variant: i % 3 === 0 ? ["Small", "Large"][i % 2] : null,
      unique: false,
      available: i % 97 !== 0,
    });
  }
  return items;
}

export function createFakeApi(params: URLSearchParams): Api {
  const items = catalogOf(Number(params.get("n") ?? 0));
  const bySku = new Map(items.map((p) => [p.sku.toLowerCase(), p]));
  const byCode = new Map<string, CatalogItem>(bySku);
  for (const p of items) for (const b of p.barcodes) byCode.set(b, p);
  const sessions = new Map<string, Session>();
  const orders = new Map<string, Order>();
  const listeners = new Set<(s: SyncInfo) => void>();
  let seq = 0;
  let orderSeq = 0;
  const settings: SettingsInfo = { shop_name: "Tillbook Café", locale: params.get("locale") ?? "pt-BR", currency: params.get("currency") ?? "BRL", terminal_code: "T01", server_url: null, enrolled: false, demo: true };
  let shift: AppInfo["shift"] = params.has("noshift") ? null : { shift_id: "s1", opened_at: new Date().toISOString(), float_q: 20000, opened_by: "Cashier", business_date: new Date().toISOString().slice(0, 10) };
  const sync: SyncInfo = { enrolled: false, online: null, pending: 0, rejected: 0, last_success_at: null, last_error: null, halted: null, rejections: [], orders: [] };

  const delay = <T>(v: T): Promise<T> => new Promise((r) => setTimeout(() => r(v), 15));
  const fail = (code: string, message: string): never => {
    throw new AppError(code, message);
  };
  const now = () => new Date().toISOString();
  const emit = () => listeners.forEach((cb) => cb({ ...sync, rejections: [...sync.rejections] }));
  const outbox = () => {
    if (sync.enrolled) {
      sync.pending++;
      emit();
      setTimeout(() => {
        sync.pending = 0;
        sync.online = true;
        sync.last_success_at = now();
        emit();
      }, 1500);
    }
  };

  function session(key: string, open = true): Session {
    const s = sessions.get(key) ?? fail("unknown_session", `no session ${key}`);
    if (open && s.state !== "open") fail("session_not_open", "this basket is already an order");
    return s;
  }
  function view(s: Session): Basket {
    const lines = s.lines.map((l) => {
      const p = bySku.get(l.sku.toLowerCase())!;
      return { line_id: l.line_id, sku: p.sku, name: p.name, unit_price_q: p.price_q, qty: l.qty, discount_q: l.discount_q, total_q: p.price_q * l.qty - l.discount_q, flags: p.available ? [] : [{ code: "out_of_stock", message: "out of stock since it was added" }] };
    });
    const subtotal = lines.reduce((a, l) => a + l.total_q, 0);
    const total = Math.max(0, subtotal - s.discount_q);
    return { key: s.key, handle: s.handle, lines, subtotal_q: subtotal, discount_q: s.discount_q, tax_q: Math.round((total * 12) / 112), total_q: total, total_items: lines.reduce((a, l) => a + l.qty, 0), note: s.note, issues: [], currency: settings.currency };
  }
  function add(s: Session, p: CatalogItem, qty: number): Basket {
    if (!Number.isInteger(qty) || qty <= 0 || qty > 9999) fail("invalid_quantity", `quantity must be 1 to 9999, not ${qty}`);
    const l = s.lines.find((x) => x.sku === p.sku);
    if (l) l.qty += qty;
    else s.lines.push({ line_id: `l${++seq}`, sku: p.sku, qty, discount_q: 0 });
    s.updated_at = now();
    return view(s);
  }
  function line(s: Session, id: string): Line {
    return s.lines.find((l) => l.line_id === id) ?? fail("unknown_line", `no line ${id}`);
  }
  function payment(method: string, approved: boolean, decline_code: string | null, amount_q: number, tendered_q: number, change_q: number, last4: string | null): PayResult["payments"][number] {
    return { payment_id: `p${++seq}`, method, approved, decline_code, amount_q, tendered_q, change_q, last4, at: now() };
  }
  const handleOf = (name: string) => (name.includes(":") ? name : `tab:${name}`);
  const labelOf = (h: string | null) => (h ? h.replace(/^tab:/, "") : "");
  function info(): AppInfo {
    return { demo: settings.demo, enrolled: settings.enrolled, shop_name: settings.shop_name, locale: settings.locale, currency: settings.currency, terminal_code: settings.terminal_code, store_name: null, cashier: "Cashier", shift, tender_methods: ["pix", "voucher"], data_dir: "(fake)", version: "0.1.0-fake" };
  }

  const api: Api = {
    appInfo: () => delay(info()),
    catalog: () => delay(items),
    basketOpen: async (handle) => {
      const s: Session = { key: `k${++seq}`, handle: handle ? handleOf(handle) : null, lines: [], note: null, discount_q: 0, state: "open", updated_at: now() };
      sessions.set(s.key, s);
      return delay(view(s));
    },
    basketGet: async (key) => delay(view(session(key, false))),
    basketScan: async (key, input) => {
      const s = session(key);
      const m = /^(\d+)\*(.+)$/.exec(input.trim());
      const qty = m ? Number(m[1]) : 1;
      const code = (m ? m[2] : input).trim();
      const p = byCode.get(code) ?? bySku.get(code.toLowerCase()) ?? fail("unknown_product", `No product has the code “${code}”.`);
      return delay(add(s, p, qty));
    },
    basketAdd: async (key, sku, qty) => delay(add(session(key), bySku.get(sku.toLowerCase()) ?? fail("unknown_sku", `unknown SKU ${sku}`), qty)),
    basketSetQty: async (key, lineId, qty) => {
      const s = session(key);
      if (qty < 0) fail("invalid_quantity", "quantity cannot be negative");
      if (qty === 0) s.lines = s.lines.filter((l) => l.line_id !== lineId);
      else line(s, lineId).qty = qty;
      return delay(view(s));
    },
    basketRemove: async (key, lineId) => {
      const s = session(key);
      line(s, lineId);
      s.lines = s.lines.filter((l) => l.line_id !== lineId);
      return delay(view(s));
    },
    basketNote: async (key, note) => {
      const s = session(key);
      s.note = note || null;
      return delay(view(s));
    },
    basketLineDiscount: async (key, lineId, d) => {
      const s = session(key);
      const l = line(s, lineId);
      if (d < 0 || d > bySku.get(l.sku.toLowerCase())!.price_q * l.qty) fail("invalid_discount", "the discount is more than the line");
      l.discount_q = d;
      return delay(view(s));
    },
    basketDiscount: async (key, d) => {
      const s = session(key);
      if (d < 0 || d > view(s).subtotal_q) fail("invalid_discount", "the discount is more than the order");
      s.discount_q = d;
      return delay(view(s));
    },
    basketPark: async (key, handle) => {
      const s = session(key);
      const h = handleOf(handle.trim());
      if ([...sessions.values()].some((o) => o !== s && o.state === "open" && o.handle === h)) fail("handle_in_use", `a tab named “${handle}” is already open`);
      s.handle = h;
      const v = view(s);
      return delay({ key, handle: h, label: labelOf(h), lines: v.lines.length, total_items: v.total_items, total_q: v.total_q, updated_at: s.updated_at });
    },
    tabs: async () =>
      delay(
        [...sessions.values()]
          .filter((s) => s.state === "open" && (s.handle || s.lines.length))
          .map((s): TabSummary => {
            const v = view(s);
            return { key: s.key, handle: s.handle, label: labelOf(s.handle), lines: v.lines.length, total_items: v.total_items, total_q: v.total_q, updated_at: s.updated_at };
          }),
      ),
    basketAbandon: async (key) => {
      sessions.delete(key);
      await delay(null);
    },
    checkout: async (key) => {
      const existing = [...orders.values()].find((o) => o.key === key);
      if (existing) return delay({ order_ref: existing.ref, total_q: existing.total_q, amount_due_q: existing.total_q - existing.paid_q, currency: settings.currency });
      const s = session(key);
      if (!s.lines.length) fail("empty_session", "the basket is empty");
      if (!shift) fail("no_open_shift", "open a shift first");
      const v = view(s);
      s.state = "committed";
      const ref = `T01-${String(++orderSeq).padStart(4, "0")}`;
      orders.set(ref, { ref, key, total_q: v.total_q, paid_q: 0, change_q: 0, payments: [], lines: s.lines });
      outbox();
      return delay({ order_ref: ref, total_q: v.total_q, amount_due_q: v.total_q, currency: settings.currency });
    },
    pay: async (ref, t) => {
      const o = orders.get(ref) ?? fail("unknown_order", `no order ${ref}`);
      const due = o.total_q - o.paid_q;
      if (due <= 0) fail("already_paid", "the order is already paid");
      let declined: PayResult["declined"] = null;
      if (t.kind === "cash") {
        const given = t.tendered_q ?? due;
        const applied = Math.min(given, due);
        o.paid_q += applied;
        o.change_q = given - applied;
        o.payments.push(payment("cash", true, null, applied, given, given - applied, null));
      } else {
        const amount = t.amount_q ?? due;
        if (amount > due) fail("overpayment", "only cash can be more than the amount due");
        if (t.kind === "card") {
          if (!/^\d{12,19}$/.test(t.number)) fail("invalid_card_number", "that is not a card number");
          const d = DECLINES[t.number];
          if (d) declined = { code: d[0], message: d[1] };
        } else if (t.name !== "pix" && t.name !== "voucher") fail("unknown_tender", `no tender method ${t.name}`);
        const last4 = t.kind === "card" ? t.number.slice(-4) : null;
        o.payments.push(payment(t.kind === "card" ? "card" : t.name, !declined, declined?.code ?? null, amount, amount, 0, last4));
        if (!declined) o.paid_q += amount;
      }
      outbox();
      const paid = o.paid_q >= o.total_q;
      return delay({ order_ref: ref, total_q: o.total_q, paid_q: o.paid_q, amount_due_q: o.total_q - o.paid_q, change_due_q: paid ? o.change_q : 0, paid, declined, payments: [...o.payments] });
    },
    receipt: async (ref) => {
      const o = orders.get(ref) ?? fail("unknown_order", `no order ${ref}`);
      const lines = o.lines.map((l) => ({ name: bySku.get(l.sku.toLowerCase())!.name, qty: l.qty, total_q: bySku.get(l.sku.toLowerCase())!.price_q * l.qty - l.discount_q }));
      return delay({ order_ref: ref, text: fakeReceipt(settings.shop_name, ref, lines, o) });
    },
    syncInfo: () => delay({ ...sync }),
    syncNow: async () => {
      outbox();
      await delay(null);
    },
    settingsGet: () => delay({ ...settings }),
    settingsSave: async (input) => {
      if (!input.shop_name) fail("invalid_setting", "the shop name cannot be empty");
      settings.shop_name = input.shop_name;
      settings.locale = input.locale;
      return delay({ ...settings });
    },
    enroll: async (url, code) => {
      if (!/^https?:\/\//.test(url)) fail("invalid_argument", "the server URL must start with http:// or https://");
      if (url.includes("down")) fail("server_unreachable", `could not connect to ${url}`);
      if (code !== "GOOD") fail("invalid_enrollment_code", "unknown enrollment code");
      settings.enrolled = sync.enrolled = true;
      settings.server_url = url;
      sync.online = true;
      sync.rejections = [{ seq: 7, kind: "order_committed", reason: "price mismatch for LATTE", order_ref: "T01-0003" }];
      sync.rejected = 1;
      emit();
      return delay({ ...sync });
    },
    shiftOpen: async (floatQ) => {
      if (shift) fail("shift_already_open", "a shift is already open");
      shift = { shift_id: "s2", opened_at: now(), float_q: floatQ, opened_by: "Cashier", business_date: now().slice(0, 10) };
      return delay(info());
    },
    onSyncChanged: async (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  return api;
}
