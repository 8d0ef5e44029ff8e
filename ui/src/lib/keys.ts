// The one keyboard-shortcut registry: every shortcut is declared here once, the global key
// handler dispatches through these declarations, and the F1 help lists them, so the help can
// never drift from what the keys do. Components bind handlers to declared ids while mounted.

export interface ShortcutDef {
  /** Stable id that components bind a handler to. */
  id: string;
  /** Key name as `keyName` produces it: "F12", "Enter", "Ctrl+N", "+", "ArrowUp". */
  key: string;
  /** What it does, for the help. */
  label: string;
  /** Where it applies: a screen name, "global" (any screen, no dialog open), "always", or "dialog:KIND". */
  scope: string;
  /** Only while the element with this id has focus. */
  field?: string;
}

export const SHORTCUTS = [
  { id: "help", key: "F1", scope: "always", label: "Show every shortcut (this list)" },
  { id: "escape", key: "Escape", scope: "always", label: "Close the dialog, or go back" },
  { id: "settings", key: "F9", scope: "global", label: "Settings" },
  { id: "sync", key: "F10", scope: "global", label: "Sync status and rejected events" },

  { id: "scan.enter", key: "Enter", scope: "sell", field: "scan", label: "Add the scanned code; 3*CODE adds three" },
  { id: "line.up", key: "ArrowUp", scope: "sell", field: "scan", label: "Select the basket line above" },
  { id: "line.down", key: "ArrowDown", scope: "sell", field: "scan", label: "Select the basket line below" },
  { id: "line.plus", key: "+", scope: "sell", field: "scan", label: "One more of the selected line (scan field empty)" },
  { id: "line.minus", key: "-", scope: "sell", field: "scan", label: "One less of the selected line (scan field empty)" },
  { id: "line.remove", key: "Delete", scope: "sell", field: "scan", label: "Remove the selected line (scan field empty)" },
  { id: "search.focus", key: "F3", scope: "sell", label: "Search the catalog by name, SKU or barcode" },
  { id: "search.enter", key: "Enter", scope: "sell", field: "search", label: "Add the first product found" },
  { id: "park", key: "F4", scope: "sell", label: "Park the basket as a named tab" },
  { id: "tabs", key: "F5", scope: "sell", label: "Open tabs: resume a parked basket" },
  { id: "note", key: "F6", scope: "sell", label: "Note on the order" },
  { id: "order.discount", key: "F7", scope: "sell", label: "Discount on the order" },
  { id: "line.discount", key: "F8", scope: "sell", label: "Discount on the selected line" },
  { id: "pay", key: "F12", scope: "sell", label: "Pay the basket" },
  { id: "new-sale", key: "Ctrl+N", scope: "sell", label: "Start a new sale (asks before leaving an unpaid one)" },
  { id: "float.enter", key: "Enter", scope: "sell", field: "float", label: "Open the shift with the cash float typed" },

  { id: "tender.enter", key: "Enter", scope: "pay", field: "tender-amount", label: "Cash: the amount typed, or exact when empty" },
  { id: "card.focus", key: "F2", scope: "pay", label: "Card number field" },
  { id: "card.enter", key: "Enter", scope: "pay", field: "card-number", label: "Charge the card (the amount typed, or the rest)" },

  { id: "receipt.next", key: "Enter", scope: "receipt", label: "Start the next sale" },

  { id: "settings.save", key: "Enter", scope: "settings", field: "shop-name", label: "Save the settings" },
  { id: "settings.enrol", key: "Enter", scope: "settings", field: "enrol-code", label: "Enrol this till with the server" },

  { id: "park.enter", key: "Enter", scope: "dialog:park", field: "tab-name", label: "Park under this name" },
  { id: "tabs.up", key: "ArrowUp", scope: "dialog:tabs", label: "Previous tab" },
  { id: "tabs.down", key: "ArrowDown", scope: "dialog:tabs", label: "Next tab" },
  { id: "amount.enter", key: "Enter", scope: "dialog:amount", field: "discount-amount", label: "Apply the discount" },
  { id: "note.enter", key: "Enter", scope: "dialog:note", field: "note-text", label: "Save the note" },
] as const satisfies readonly ShortcutDef[];

export type ShortcutId = (typeof SHORTCUTS)[number]["id"];

/** Return `false` to let the key through (not handled). */
export type Handler = (e: KeyboardEvent) => boolean | void;

/** The name of a key press: modifiers first; Shift only for named keys ("+" is "+", not "Shift++"). */
export function keyName(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "altKey" | "metaKey" | "shiftKey">): string {
  const named = e.key.length > 1;
  const key = named ? e.key : e.key.length === 1 && /[a-z]/.test(e.key) ? e.key.toUpperCase() : e.key;
  let mods = "";
  if (e.ctrlKey) mods += "Ctrl+";
  if (e.altKey) mods += "Alt+";
  if (e.metaKey) mods += "Meta+";
  if (e.shiftKey && named) mods += "Shift+";
  return mods + key;
}

/** What the dispatcher needs to know about the moment of the key press. */
export interface KeyContext {
  /** Active scopes, e.g. ["always", "global", "sell"] or ["always", "dialog:park"]. */
  scopes: readonly string[];
  /** The id of the focused element ("" if none). */
  focusedId: string;
  /** What the focused element does with plain keys itself: a text field types them, a button presses on Enter/Space. */
  focused: "text" | "button" | "none";
}

/** Keys that the focused control handles itself, unless a shortcut names that control as its field. */
function ownedByFocused(name: string, focused: KeyContext["focused"]): boolean {
  if (focused === "none") return false;
  if (name === "Enter" || name === " ") return true;
  return focused === "text" && (name.length === 1 || name.startsWith("Arrow") || name === "Delete" || name === "Backspace");
}

export class ShortcutRegistry {
  private handlers = new Map<string, Handler[]>();

  constructor(readonly defs: readonly ShortcutDef[] = SHORTCUTS) {}

  /** Binds a handler to a declared shortcut; returns the unbind function (use it in an $effect). */
  bind(id: ShortcutId, handler: Handler): () => void {
    if (!this.defs.some((d) => d.id === id)) throw new Error(`undeclared shortcut ${id}`);
    const list = this.handlers.get(id) ?? [];
    list.push(handler);
    this.handlers.set(id, list);
    return () => {
      const l = this.handlers.get(id);
      if (!l) return;
      const i = l.lastIndexOf(handler);
      if (i >= 0) l.splice(i, 1);
    };
  }

  isBound(id: string): boolean {
    return (this.handlers.get(id)?.length ?? 0) > 0;
  }

  /** The declarations that would handle this key now, field-specific first. */
  candidates(name: string, ctx: KeyContext): ShortcutDef[] {
    const inScope = this.defs.filter((d) => d.key === name && ctx.scopes.includes(d.scope));
    const forField = inScope.filter((d) => d.field !== undefined && d.field === ctx.focusedId);
    const general = inScope.filter((d) => d.field === undefined && !ownedByFocused(name, ctx.focused));
    return [...forField, ...general];
  }

  /** Runs the handler for this key press, if any; true when handled (default prevented). */
  dispatch(e: KeyboardEvent, ctx: KeyContext): boolean {
    const name = keyName(e);
    for (const def of this.candidates(name, ctx)) {
      const list = this.handlers.get(def.id);
      const handler = list?.[list.length - 1];
      if (!handler) continue;
      if (e.repeat && name.startsWith("F")) {
        e.preventDefault(); // a held function key acts once
        return true;
      }
      if (handler(e) === false) continue;
      e.preventDefault();
      e.stopPropagation();
      return true;
    }
    return false;
  }

  /** The help: every declaration grouped by scope, in declaration order. */
  groups(): { scope: string; items: ShortcutDef[] }[] {
    const out: { scope: string; items: ShortcutDef[] }[] = [];
    for (const d of this.defs) {
      let g = out.find((x) => x.scope === d.scope);
      if (!g) out.push((g = { scope: d.scope, items: [] }));
      g.items.push(d);
    }
    return out;
  }
}

/** The app's registry. */
export const shortcuts = new ShortcutRegistry();

const SCOPE_TITLES: Record<string, string> = {
  always: "Everywhere",
  global: "Any screen",
  sell: "Sell",
  pay: "Pay",
  receipt: "Receipt",
  settings: "Settings",
  "dialog:park": "Park dialog",
  "dialog:tabs": "Tabs dialog",
  "dialog:amount": "Discount dialog",
  "dialog:note": "Note dialog",
};

const FIELD_NAMES: Record<string, string> = {
  scan: "scan field",
  search: "search field",
  float: "float field",
  "tender-amount": "amount field",
  "card-number": "card field",
  "shop-name": "shop name",
  "enrol-code": "enrolment code",
  "tab-name": "name field",
  "discount-amount": "amount field",
  "note-text": "note field",
};

/** "in the scan field", for the help. */
export function fieldName(field: string): string {
  return FIELD_NAMES[field] ?? field;
}

export function scopeTitle(scope: string): string {
  return SCOPE_TITLES[scope] ?? scope;
}

/** Key label for the help and the buttons ("Ctrl+N", "F12"). */
export function keyLabel(key: string): string {
  return key === " " ? "Space" : key;
}

/** The key of a declared shortcut, for button hints ("Pay (F12)"). */
export function keyOf(id: ShortcutId): string {
  return SHORTCUTS.find((d) => d.id === id)?.key ?? "";
}
