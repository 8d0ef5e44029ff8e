// The screen registry: the shell renders the current route's component and the nav lists the
// screens marked `nav`. Part 2 adds the PIN pad, orders, kitchen board, stock and shift screens
// here (and their names to ScreenName in ../state/router.svelte.ts).

import type { Component } from "svelte";
import type { ScreenName } from "../state/router.svelte";
import type { ShortcutId } from "../lib/keys";
import Sell from "./Sell.svelte";
import Pay from "./Pay.svelte";
import Receipt from "./Receipt.svelte";
import Settings from "./Settings.svelte";

export interface ScreenDef {
  name: ScreenName;
  title: string;
  component: Component;
  /** Shown in the top bar's nav. */
  nav: boolean;
  /** The shortcut that opens it from anywhere, if any. */
  shortcut?: ShortcutId;
}

export const SCREENS: ScreenDef[] = [
  { name: "sell", title: "Sell", component: Sell, nav: true },
  { name: "pay", title: "Pay", component: Pay, nav: false },
  { name: "receipt", title: "Receipt", component: Receipt, nav: false },
  { name: "settings", title: "Settings", component: Settings, nav: true, shortcut: "settings" },
];

export function screen(name: ScreenName): ScreenDef {
  return SCREENS.find((s) => s.name === name) ?? SCREENS[0];
}
