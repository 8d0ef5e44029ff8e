// The catalog, loaded once with `catalog` and searched in memory. The items and their index are
// kept out of Svelte's deep reactivity ($state.raw): 50,000 proxied objects would be slow.

import { api, asAppError, type AppError } from "../lib/api";
import { afterPaint, perf } from "../lib/perf";
import { buildIndex, type CatalogIndex } from "../lib/search";
import { tick } from "svelte";

export const catalog = $state({
  loading: false,
  error: null as AppError | null,
});

/** The Sell screen's search and category, kept across screens. */
export const catalogView = $state({ query: "", category: null as string | null });

let indexState = $state.raw<CatalogIndex | null>(null);

export function catalogIndex(): CatalogIndex | null {
  return indexState;
}

/** Loads the catalog and records catalogLoadMs (call → grid painted). */
export async function loadCatalog(): Promise<void> {
  catalog.loading = true;
  const t0 = performance.now();
  try {
    const items = await api.catalog();
    const t1 = performance.now();
    indexState = buildIndex(items);
    const t2 = performance.now();
    catalog.error = null;
    await tick();
    const t3 = performance.now();
    afterPaint(() => {
      const t4 = performance.now();
      perf.catalogLoadMs = t4 - t0;
      perf.catalogPhases = { fetchMs: t1 - t0, indexMs: t2 - t1, renderMs: t3 - t2, paintMs: t4 - t3, items: items.length };
    });
  } catch (e) {
    catalog.error = asAppError(e);
  } finally {
    catalog.loading = false;
  }
}

