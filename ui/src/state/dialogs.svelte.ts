// The dialog stack. It owns Escape while a dialog is open (the top one closes) and its top
// dialog decides which shortcuts apply ("dialog:KIND"). Components are in ../dialogs/registry.ts.

export type DialogKind = "help" | "sync" | "park" | "tabs" | "amount" | "note" | "confirm";

export interface DialogEntry {
  id: number;
  kind: DialogKind;
  props: Record<string, unknown>;
  resolve: (value: unknown) => void;
}

export const dialogs = $state({ stack: [] as DialogEntry[] });

let nextId = 1;

/** Opens a dialog on top; resolves with what it closes with (undefined when dismissed). */
export function openDialog<T = unknown>(kind: DialogKind, props: Record<string, unknown> = {}): Promise<T | undefined> {
  return new Promise((resolve) => {
    dialogs.stack.push({ id: nextId++, kind, props, resolve: resolve as (v: unknown) => void });
  });
}

/** Closes the dialog with this id (or the top one) with a result. */
export function closeDialog(id?: number, result?: unknown): void {
  const i = id === undefined ? dialogs.stack.length - 1 : dialogs.stack.findIndex((d) => d.id === id);
  if (i < 0) return;
  const [entry] = dialogs.stack.splice(i, 1);
  entry.resolve(result);
}

export function isOpen(kind?: DialogKind): boolean {
  return kind === undefined ? dialogs.stack.length > 0 : dialogs.stack.some((d) => d.kind === kind);
}

export function topScope(): string | null {
  const top = dialogs.stack[dialogs.stack.length - 1];
  return top ? `dialog:${top.kind}` : null;
}
