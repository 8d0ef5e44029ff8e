// The catalog, searched in memory. Built once when the catalog loads: one lowercase, accent-free
// search string per item (name, variant, SKU, barcodes) and an exact-code map, so a keystroke is
// one pass of `includes` over plain strings with no allocation per item.

import type { CatalogItem } from "./api";

export interface CatalogIndex {
  items: CatalogItem[];
  /** Parallel to items: "name variant sku barcode…", lowercased, without accents. */
  haystacks: string[];
  /** Item positions by category name ("" for none). */
  byCategory: Map<string, number[]>;
  /** Categories in first-seen order. */
  categories: string[];
  /** Exact SKU or barcode (folded) → item position. */
  codes: Map<string, number>;
}

/** Lowercase and strip accents, so "cafe" finds "Café". */
export function fold(s: string): string {
  const lower = s.toLowerCase();
  // Most catalog text is ASCII: skip the (slower) Unicode normalization for it.
  return NON_ASCII.test(lower) ? lower.normalize("NFD").replace(/[\u0300-\u036f]/g, "") : lower;
}

const NON_ASCII = /[^\x00-\x7f]/;

export function buildIndex(items: CatalogItem[]): CatalogIndex {
  const haystacks = new Array<string>(items.length);
  const byCategory = new Map<string, number[]>();
  const categories: string[] = [];
  const codes = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const parts = [it.name, it.variant ?? "", it.sku, ...it.barcodes];
    haystacks[i] = fold(parts.join(" "));
    const cat = it.category ?? "";
    let list = byCategory.get(cat);
    if (!list) {
      list = [];
      byCategory.set(cat, list);
      if (cat !== "") categories.push(cat);
    }
    list.push(i);
    codes.set(fold(it.sku), i);
    for (const b of it.barcodes) codes.set(fold(b), i);
  }
  return { items, haystacks, byCategory, categories, codes };
}

export interface SearchResult {
  items: CatalogItem[];
  /** How many items matched in all (items holds at most `limit`). */
  total: number;
}

/** The previous search, so a query that extends it (one more letter) scans only its matches. */
export interface SearchMemo {
  index: CatalogIndex | null;
  query: string;
  category: string | null;
  matches: Int32Array;
}

export function newMemo(): SearchMemo {
  return { index: null, query: "", category: null, matches: new Int32Array(0) };
}

/**
 * Items whose search string contains every word of `query`, within `category` when given
 * (null = all). An exact SKU or barcode comes first. At most `limit` items are returned. With a
 * `memo`, a query that extends the previous one only rescans the previous matches.
 */
export function search(index: CatalogIndex, query: string, category: string | null, limit = 60, memo?: SearchMemo): SearchResult {
  const q = fold(query.trim());
  const words = q === "" ? [] : q.split(/\s+/);
  const out: CatalogItem[] = [];
  const exact = q === "" ? undefined : index.codes.get(q);
  if (exact !== undefined && (category === null || (index.items[exact].category ?? "") === category)) {
    out.push(index.items[exact]);
  }
  // Candidates: the previous matches when this query extends the previous one, else the
  // category's items, else everything.
  const narrowing = memo !== undefined && memo.index === index && memo.category === category && memo.query !== "" && q.startsWith(memo.query);
  const pool: ArrayLike<number> | null = narrowing ? memo.matches : category === null ? null : (index.byCategory.get(category) ?? []);
  const n = pool === null ? index.items.length : pool.length;
  const matches = memo ? new Int32Array(n) : null;
  let total = 0;
  const hs = index.haystacks;
  const w0 = words[0];
  const wn = words.length;
  for (let j = 0; j < n; j++) {
    const i = pool === null ? j : pool[j];
    if (wn > 0) {
      const h = hs[i];
      if (!h.includes(w0)) continue;
      let ok = true;
      for (let k = 1; k < wn; k++) {
        if (!h.includes(words[k])) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    if (matches) matches[total] = i;
    total++;
    if (out.length < limit && i !== exact) out.push(index.items[i]);
  }
  if (memo && matches) {
    memo.index = index;
    memo.query = q;
    memo.category = category;
    memo.matches = matches.subarray(0, total);
  }
  return { items: out, total };
}
