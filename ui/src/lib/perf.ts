// Bench instrumentation (see the contract): window.__tillbookPerf = { catalogLoadMs, searches }.
// A measurement ends after the frame that shows the result has been painted: a
// requestAnimationFrame callback runs just before that frame's paint, and a task queued from it
// runs just after it.

export interface TillbookPerf {
  catalogLoadMs: number | null;
  searches: number[];
  /** Where catalogLoadMs went: the `catalog` call, the search index, the first render, the paint. */
  catalogPhases?: { fetchMs: number; indexMs: number; renderMs: number; paintMs: number; items: number };
}

declare global {
  interface Window {
    __tillbookPerf: TillbookPerf;
  }
}

export const perf: TillbookPerf = { catalogLoadMs: null, searches: [] };
if (typeof window !== "undefined") window.__tillbookPerf = perf;

/** Calls `cb` once the next frame has been painted. */
export function afterPaint(cb: () => void): void {
  requestAnimationFrame(() => setTimeout(cb, 0));
}

/**
 * The start time of an input event on the performance.now() clock: `event.timeStamp` when the
 * engine gives a high-resolution one on that clock, else now.
 */
export function eventStart(e: Event): number {
  const now = performance.now();
  const t = e.timeStamp;
  return t > 0 && t <= now && now - t < 10_000 ? t : now;
}
