// The current screen. Screens are registered in ../screens/registry.ts; a screen may claim
// Escape ("back") while it is shown, e.g. Sell clears its search first.

export type ScreenName = "sell" | "pay" | "receipt" | "settings";

export const route = $state({ screen: "sell" as ScreenName });

const history: ScreenName[] = [];
let backHandler: (() => boolean) | null = null;

export function go(screen: ScreenName): void {
  if (screen === route.screen) return;
  history.push(route.screen);
  if (history.length > 20) history.shift();
  backHandler = null;
  route.screen = screen;
}

/** Replaces the current screen without a way back to it (e.g. Receipt → Sell). */
export function replace(screen: ScreenName): void {
  backHandler = null;
  history.length = 0;
  route.screen = screen;
}

/** The shown screen's own Escape: return true when it handled it. Cleared on navigation. */
export function onBack(handler: () => boolean): () => void {
  backHandler = handler;
  return () => {
    if (backHandler === handler) backHandler = null;
  };
}

/** Escape with no dialog open: the screen's own back, else the previous screen, else Sell. */
export function back(): void {
  if (backHandler?.()) return;
  const prev = history.pop();
  backHandler = null;
  route.screen = prev && prev !== route.screen ? prev : "sell";
}
