import { describe, expect, it } from "vitest";
import { fieldName, keyName, SHORTCUTS, ShortcutRegistry, scopeTitle, type KeyContext } from "./keys";

function press(key: string, mods: Partial<KeyboardEvent> = {}): KeyboardEvent {
  let prevented = false;
  return {
    key,
    ctrlKey: false,
    altKey: false,
    metaKey: false,
    shiftKey: false,
    repeat: false,
    ...mods,
    preventDefault: () => {
      prevented = true;
    },
    stopPropagation: () => {},
    get defaultPrevented() {
      return prevented;
    },
  } as unknown as KeyboardEvent;
}

const sell: KeyContext = { scopes: ["always", "global", "sell"], focusedId: "scan", focused: "text" };

describe("keyName", () => {
  it("names keys with modifiers", () => {
    expect(keyName(press("F12"))).toBe("F12");
    expect(keyName(press("n", { ctrlKey: true }))).toBe("Ctrl+N");
    expect(keyName(press("+", { shiftKey: true }))).toBe("+");
    expect(keyName(press("Tab", { shiftKey: true }))).toBe("Shift+Tab");
  });
});

describe("ShortcutRegistry", () => {
  it("declares every id once, with a scope the help can title", () => {
    const ids = SHORTCUTS.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of SHORTCUTS) {
      expect(scopeTitle(d.scope)).not.toBe(d.scope);
      if ("field" in d) expect(fieldName(d.field)).not.toBe(d.field);
    }
  });

  it("never declares the same key twice for one scope and field", () => {
    const seen = new Set<string>();
    for (const d of SHORTCUTS) {
      const k = `${d.scope}|${"field" in d ? d.field : ""}|${d.key}`;
      expect(seen.has(k), k).toBe(false);
      seen.add(k);
    }
  });

  it("dispatches by scope and field, field-specific first", () => {
    const r = new ShortcutRegistry();
    const calls: string[] = [];
    r.bind("pay", () => void calls.push("pay"));
    r.bind("scan.enter", () => void calls.push("scan"));
    r.bind("receipt.next", () => void calls.push("next"));
    expect(r.dispatch(press("F12"), sell)).toBe(true);
    expect(r.dispatch(press("Enter"), sell)).toBe(true);
    // Enter on a focused button is the button's own, not the receipt's.
    expect(r.dispatch(press("Enter"), { scopes: ["always", "receipt"], focusedId: "x", focused: "button" })).toBe(false);
    expect(r.dispatch(press("Enter"), { scopes: ["always", "receipt"], focusedId: "", focused: "none" })).toBe(true);
    // Out of scope: F12 in a dialog does nothing.
    expect(r.dispatch(press("F12"), { scopes: ["always", "dialog:park"], focusedId: "", focused: "none" })).toBe(false);
    // Arrows on a focused button are free for the dialog's own handler; in a text field they are the field's.
    r.bind("tabs.down", () => void calls.push("down"));
    expect(r.dispatch(press("ArrowDown"), { scopes: ["always", "dialog:tabs"], focusedId: "", focused: "button" })).toBe(true);
    expect(r.dispatch(press("ArrowDown"), { scopes: ["always", "dialog:tabs"], focusedId: "q", focused: "text" })).toBe(false);
    expect(calls).toEqual(["pay", "scan", "next", "down"]);
  });

  it("lets a key through when the handler declines or is unbound", () => {
    const r = new ShortcutRegistry();
    const un = r.bind("line.plus", () => false);
    const e = press("+");
    expect(r.dispatch(e, sell)).toBe(false);
    expect(e.defaultPrevented).toBe(false);
    un();
    expect(r.isBound("line.plus")).toBe(false);
    expect(r.dispatch(press("F3"), sell)).toBe(false);
  });

  it("the latest binding wins and unbinding restores the previous", () => {
    const r = new ShortcutRegistry();
    const calls: string[] = [];
    r.bind("escape", () => void calls.push("a"));
    const un = r.bind("escape", () => void calls.push("b"));
    r.dispatch(press("Escape"), sell);
    un();
    r.dispatch(press("Escape"), sell);
    expect(calls).toEqual(["b", "a"]);
  });

  it("refuses to bind an undeclared id", () => {
    const r = new ShortcutRegistry();
    expect(() => r.bind("nope" as never, () => {})).toThrow();
  });

  it("acts once for a held function key", () => {
    const r = new ShortcutRegistry();
    let n = 0;
    r.bind("pay", () => void n++);
    r.dispatch(press("F12"), sell);
    r.dispatch(press("F12", { repeat: true }), sell);
    expect(n).toBe(1);
  });
});
