import { describe, expect, it } from "vitest";
import {
  chipLabel,
  chips,
  itemAt,
  itemOfGroup,
  itemOfRow,
  layout,
  localDigest,
  progressFraction,
  progressLine,
  receiptName,
  rowsToRead,
  sentLine,
  sideLine,
  verifiedDetail,
  verifiedLine,
  verifySummary,
  ROWS_BATCH,
  type Item,
  type VerifyCounts,
  type VerifyRow,
} from "./verify";

const counts = (c: Partial<VerifyCounts>): VerifyCounts => ({
  match: 0,
  differs: 0,
  notOnServer: 0,
  onlyOnServer: 0,
  notOk: 0,
  unreadable: 0,
  ...c,
});

describe("groups and counts", () => {
  it("shows the five groups always, unreadable only when some are", () => {
    const five = chips(counts({ match: 12, differs: 3 }));
    expect(five.map((c) => c.verdict)).toEqual(["differs", "not_ok", "not_on_server", "only_on_server", "match"]);
    expect(five.map((c) => c.count)).toEqual([3, 0, 0, 0, 12]);
    // Short enough that all of them fit on one line of the smallest window.
    expect(Math.max(...five.map((c) => chipLabel(c.verdict).length))).toBeLessThanOrEqual(14);
    const six = chips(counts({ unreadable: 2 }));
    expect(six.map((c) => c.verdict)).toContain("unreadable");
    expect(six.find((c) => c.verdict === "unreadable")?.count).toBe(2);
  });

  it("sums a verification up in the list's order", () => {
    expect(verifySummary(counts({ match: 12, differs: 3, notOnServer: 1 }), false)).toBe(
      "3 differ · 1 not on the server · 12 match",
    );
    expect(verifySummary(counts({ differs: 1, onlyOnServer: 1_200 }), false)).toBe("1 differs · 1,200 only on the server");
    expect(verifySummary(counts({ match: 1 }), true)).toBe("In step: 1 file matches");
    expect(verifySummary(counts({ match: 40 }), true)).toBe("In step: 40 files match");
    expect(verifySummary(counts({}), true)).toBe("Nothing to compare");
  });
});

describe("the virtual list of headers and rows", () => {
  // The engine's groups: 2 differ (rows 0-1), 3 match (rows 2-4); an empty group is skipped.
  const l = layout([
    { verdict: "differs", start: 0, count: 2 },
    { verdict: "not_ok", start: 2, count: 0 },
    { verdict: "match", start: 2, count: 3 },
  ]);

  it("puts a header above each group's rows", () => {
    expect(l.items).toBe(7);
    const items = Array.from({ length: l.items }, (_, i) => itemAt(l, i));
    expect(items).toEqual([
      { kind: "header", verdict: "differs", count: 2 },
      { kind: "row", verdict: "differs", index: 0 },
      { kind: "row", verdict: "differs", index: 1 },
      { kind: "header", verdict: "match", count: 3 },
      { kind: "row", verdict: "match", index: 2 },
      { kind: "row", verdict: "match", index: 3 },
      { kind: "row", verdict: "match", index: 4 },
    ]);
    expect(itemAt(l, 7)).toBeNull();
  });

  it("finds a row's and a group's item", () => {
    expect([0, 1, 2, 4].map((r) => itemOfRow(l, r))).toEqual([1, 2, 4, 6]);
    expect(itemOfRow(l, 5)).toBe(-1);
    expect(itemOfGroup(l, "match")).toBe(3);
    expect(itemOfGroup(l, "not_ok")).toBe(-1);
  });

  it("reads only the rows in view not read yet, in one bounded range", () => {
    const view = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => itemAt(l, from + k)).filter((x): x is Item => x !== null);
    expect(rowsToRead(view(0, 7), new Map())).toEqual({ start: 0, end: 5 });
    expect(rowsToRead(view(0, 7), new Map([[0, 1], [1, 1]]))).toEqual({ start: 2, end: 5 });
    expect(rowsToRead(view(3, 5), new Map([[2, 1]]))).toBeNull();
    expect(rowsToRead([{ kind: "header", verdict: "match", count: 3 }], new Map())).toBeNull();
    // A folder of 100,000: a tall window still asks for one batch at most.
    const big = layout([{ verdict: "match", start: 0, count: 100_000 }]);
    const tall = Array.from({ length: 2000 }, (_, k) => itemAt(big, k)).filter((x): x is Item => x !== null);
    expect(rowsToRead(tall, new Map())).toEqual({ start: 0, end: ROWS_BATCH });
  });
});

describe("lines", () => {
  it("says how far the reading is", () => {
    expect(progressLine(null)).toBe("Listing files and reading the server…");
    const p = { filesDone: 12, files: 40, bytesDone: 1_200_000, bytes: 3_400_000 };
    expect(progressLine(p)).toBe("Reading 12 of 40 files · 1.2 MB of 3.4 MB");
    expect(progressFraction(p)).toBeCloseTo(1.2 / 3.4);
    expect(progressFraction({ filesDone: 1, files: 4, bytesDone: 0, bytes: 0 })).toBe(0.25);
    expect(progressFraction(null)).toBe(0);
  });

  it("gives a watched folder's last verification, with when and what", () => {
    const now = Date.UTC(2026, 4, 4, 14, 0, 0);
    expect(verifiedLine(null, now)).toBeNull();
    expect(verifiedLine({ at: now / 1000 - 300, inStep: true, summary: "4 match" }, now)).toBe("verified 5 min. ago · in step");
    const off = { at: now / 1000 - 7_200, inStep: false, summary: "9 match, 3 differs" };
    expect(verifiedLine(off, now)).toBe("verified 2 hr. ago · not in step");
    expect(verifiedDetail(off)).toMatch(/^Last verified \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: 9 match, 3 differs$/);
    expect(verifiedDetail({ at: null, inStep: true, summary: "4 match" })).toBe("Last verified: 4 match (in step)");
    expect(verifiedDetail(null)).toBeNull();
  });

  it("names the receipt after what was verified and when, as a safe file name", () => {
    const at = new Date(2026, 4, 4, 14, 3, 12).getTime() / 1000;
    expect(receiptName("Scans", at, 0)).toBe("twindrop-receipt-Scans-2026-05-04-1403.json");
    expect(receiptName("../my docs/ü", at, 0)).toBe("twindrop-receipt-my_docs_-2026-05-04-1403.json");
    expect(receiptName("", at, 0)).toBe("twindrop-receipt-verify-2026-05-04-1403.json");
  });

  it("says what Send again did", () => {
    expect(sentLine(3, 0, false)).toBe("3 files queued again (see them under Uploads).");
    expect(sentLine(1, 2, true)).toBe("1 file queued again (through the folder's sync). 2 the folder ignores were left out.");
    expect(sentLine(0, 1, true)).toBe("Nothing was queued. 1 the folder ignores was left out.");
  });

  it("shows each side of a row by the digest the service records", () => {
    const row: VerifyRow = {
      verdict: "differs",
      name: "a.txt",
      path: "/x/a.txt",
      local: { size: 12_400, sha256: "ab".repeat(32), md5: "cd".repeat(16), cached: false },
      server: null,
      problem: null,
    };
    expect(localDigest(row, "sha256")).toBe("ab".repeat(32));
    expect(localDigest(row, "md5")).toBe("cd".repeat(16));
    expect(localDigest({ ...row, local: null }, "sha256")).toBeNull();
    expect(sideLine(12_400, "ab".repeat(32), "sha256")).toBe("12.4 kB · sha256 abababababababab…");
    expect(sideLine(null, null, "sha256")).toBe("—");
  });
});
