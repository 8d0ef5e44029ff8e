import { describe, expect, it } from "vitest";
import { currencyDigits, formatMoney, parseMoney, quickAmounts } from "./money";

const nbsp = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");

describe("parseMoney", () => {
  const br = (t: string) => parseMoney(t, "BRL", "pt-BR");
  const us = (t: string) => parseMoney(t, "USD", "en-US");

  it("reads whole amounts", () => {
    expect(br("20")).toBe(2000);
    expect(us("20")).toBe(2000);
    expect(br("0")).toBe(0);
    expect(br(" 7 ")).toBe(700);
    expect(br("007")).toBe(700);
  });

  it("reads the locale's decimal comma and the other decimal point", () => {
    expect(br("20,00")).toBe(2000);
    expect(br("20.00")).toBe(2000);
    expect(br("20,5")).toBe(2050);
    expect(br("0,05")).toBe(5);
    expect(br(",50")).toBe(50);
    expect(us("20.5")).toBe(2050);
    expect(us("20,50")).toBe(2050);
  });

  it("reads grouping", () => {
    expect(br("1.234,50")).toBe(123450);
    expect(br("1.234")).toBe(123400);
    expect(br("1.234.567")).toBe(123456700);
    expect(br("1.234.567,89")).toBe(123456789);
    expect(us("1,234.50")).toBe(123450);
    expect(us("1,234")).toBe(123400);
    expect(us("1,234,567.89")).toBe(123456789);
  });

  it("a lone decimal point with three digits is the locale's decimal point, not grouping, only if it is not the group separator", () => {
    // "1,234" in pt-BR: the comma is the decimal separator and BRL has two digits -> not an amount.
    expect(br("1,234")).toBeNull();
    // "1.234" in en-US: the point is decimal, three fraction digits -> not an amount.
    expect(us("1.234")).toBeNull();
  });

  it("accepts a currency sign and spaces", () => {
    expect(br("R$ 12,34")).toBe(1234);
    expect(br("R$\u00a012,34")).toBe(1234);
    expect(us("$12.34")).toBe(1234);
    expect(br("1 234,50")).toBe(123450);
  });

  it("refuses what is not an amount", () => {
    for (const t of ["", " ", "abc", "12a", "-5", "1,2,3,4", "1.23.4", "12,345,6", "1..2", "1,.2", "20,001", "1.2345,00", "."]) {
      expect(br(t), t).toBeNull();
    }
    expect(br("9999999999999")).toBeNull(); // too large
  });

  it("never goes through floats", () => {
    // 0.1 + 0.2 style errors cannot happen: 1.005 and friends are exact.
    expect(us("1.01")).toBe(101);
    expect(us("0.29")).toBe(29);
    expect(us("4.35")).toBe(435);
    expect(us("999999999999.99")).toBe(99999999999999);
  });

  it("handles currencies without minor units", () => {
    expect(currencyDigits("JPY")).toBe(0);
    expect(parseMoney("1,234", "JPY", "en-US")).toBe(1234);
    expect(parseMoney("500", "JPY", "en-US")).toBe(500);
    expect(parseMoney("500.00", "JPY", "en-US")).toBe(500);
    expect(parseMoney("500.5", "JPY", "en-US")).toBeNull();
  });
});

describe("formatMoney", () => {
  it("formats minor units in the locale", () => {
    expect(nbsp(formatMoney(1234, "BRL", "pt-BR"))).toBe("R$ 12,34");
    expect(nbsp(formatMoney(123450, "BRL", "pt-BR"))).toBe("R$ 1.234,50");
    expect(formatMoney(123450, "USD", "en-US")).toBe("$1,234.50");
    expect(formatMoney(5, "USD", "en-US")).toBe("$0.05");
    expect(formatMoney(0, "USD", "en-US")).toBe("$0.00");
    expect(nbsp(formatMoney(1234, "JPY", "en-US"))).toBe("¥1,234");
  });

  it("round-trips through parseMoney", () => {
    for (const q of [0, 1, 5, 99, 100, 2050, 123450, 99999999, 123456789012]) {
      expect(parseMoney(formatMoney(q, "BRL", "pt-BR"), "BRL", "pt-BR")).toBe(q);
      expect(parseMoney(formatMoney(q, "USD", "en-US"), "USD", "en-US")).toBe(q);
    }
  });
});

describe("quickAmounts", () => {
  it("offers the next notes above the due", () => {
    expect(quickAmounts(2750, "BRL")).toEqual([2800, 3000, 4000, 5000, 10000]);
    expect(quickAmounts(1950, "BRL")).toEqual([2000, 5000, 10000, 20000]);
    expect(quickAmounts(2000, "BRL")).toEqual([5000, 10000, 20000]);
    expect(quickAmounts(1234, "USD")).toEqual([1300, 1500, 2000, 5000, 10000]);
    expect(quickAmounts(0, "USD")).toEqual([]);
  });
});
