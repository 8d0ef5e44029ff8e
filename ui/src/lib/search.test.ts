import { describe, expect, it } from "vitest";
import type { CatalogItem } from "./api";
import { buildIndex, newMemo, search } from "./search";

const item = (sku: string, name: string, category: string | null, barcodes: string[] = []): CatalogItem => ({
  sku,
  name,
  price_q: 100,
  category,
  barcodes,
  variant: null,
  unique: false,
  available: true,
});

const catalog = [
  item("ESPRESSO", "Espresso", "Coffee", ["7890000000001"]),
  item("CAPPUCCINO", "Cappuccino", "Coffee", ["7890000000002"]),
  item("CROISSANT", "Croissant", "Bakery", ["7890000000004"]),
  item("PAO_QUEIJO", "Pão de Queijo", "Bakery"),
  item("WATER", "Water", null, ["7890000000099"]),
];

describe("search", () => {
  const idx = buildIndex(catalog);
  const skus = (q: string, cat: string | null = null) => search(idx, q, cat).items.map((i) => i.sku);

  it("lists categories in order and everything for an empty query", () => {
    expect(idx.categories).toEqual(["Coffee", "Bakery"]);
    expect(skus("")).toHaveLength(5);
    expect(skus("", "Bakery")).toEqual(["CROISSANT", "PAO_QUEIJO"]);
  });

  it("matches name, SKU and barcode, case- and accent-insensitively, every word", () => {
    expect(skus("cap")).toEqual(["CAPPUCCINO"]);
    expect(skus("pao")).toEqual(["PAO_QUEIJO"]);
    expect(skus("PÃO queijo")).toEqual(["PAO_QUEIJO"]);
    expect(skus("0000000004")).toEqual(["CROISSANT"]);
    expect(skus("espresso_x")).toEqual([]);
    expect(skus("o", "Coffee")).toEqual(["ESPRESSO", "CAPPUCCINO"]);
  });

  it("puts an exact code first and limits the result", () => {
    expect(skus("water")[0]).toBe("WATER");
    expect(skus("7890000000099")).toEqual(["WATER"]);
    const r = search(idx, "", null, 2);
    expect(r.items).toHaveLength(2);
    expect(r.total).toBe(5);
  });

  it("gives the same results with the memo, typing forward and back", () => {
    const memo = newMemo();
    for (const q of ["c", "cr", "cro", "cr", "", "p", "pão", "pão q", "x", "", "7890", "78900000000"]) {
      for (const cat of [null, "Bakery"]) {
        expect(search(idx, q, cat, 60, memo), `${q}/${cat}`).toEqual(search(idx, q, cat));
      }
    }
  });

  it("searches 50,000 items well within a frame", () => {
    const big: CatalogItem[] = [];
    for (let i = 0; i < 50_000; i++) {
      big.push(item(`SKU${i}`, `Product number ${i} ${i % 7 === 0 ? "coffee" : "tea"}`, `Cat ${i % 20}`, [`${7800000000000 + i}`]));
    }
    const t0 = performance.now();
    const bigIdx = buildIndex(big);
    const built = performance.now() - t0;
    const times: number[] = [];
    const memo = newMemo();
    for (const q of ["p", "pr", "pro", "prod", "produ", "product", "product 4", "product 49", "coffee 12", "zzz"]) {
      const t = performance.now();
      search(bigIdx, q, null, 60, memo);
      times.push(performance.now() - t);
    }
    // A loose guard against an accidental quadratic search; the real numbers come from the
    // benchmark in the webview (key event to painted grid), not from a loaded CI machine.
    const median = [...times].sort((a, b) => a - b)[times.length >> 1];
    expect(built).toBeLessThan(3000);
    expect(median).toBeLessThan(16);
  });
});
