import { describe, expect, it } from "vitest";
import {
  COPYING_REFRESH_MS,
  DETAILS_BATCH,
  anyCopying,
  canResendDoc,
  countDocs,
  docStatusHelp,
  docStatusLabel,
  docTone,
  docsSummary,
  formatDescription,
  originalName,
  formatTimestamp,
  keepListed,
  keepSelection,
  mergeDetails,
  namesToRead,
  sortDocs,
  storageClassLabel,
  type Details,
} from "./docs";
import type { DocEntry, DocRow } from "./types";

function doc(name: string, status: string, over: Partial<DocEntry> = {}): DocEntry {
  return {
    name,
    status,
    size: 12,
    sha256: "ab".repeat(32),
    storageClass: "access_optimized",
    description: null,
    createdTs: 1_700_000_000.5,
    updatedTs: 1_700_000_001,
    ...over,
  };
}

describe("Doc statuses", () => {
  it("labels, colours and explains each status, unknown ones included", () => {
    expect(docStatusLabel("ok")).toBe("ok");
    expect(docStatusLabel("hash_mismatch")).toBe("Hash mismatch");
    expect(docStatusLabel("archived")).toBe("archived");
    expect(docTone("ok")).toBe("ok");
    expect(docTone("copying")).toBe("active");
    expect(docTone("hash_mismatch")).toBe("bad");
    expect(docTone("error")).toBe("bad");
    expect(docTone("archived")).toBe("pending");
    for (const s of ["copying", "ok", "hash_mismatch", "error", "archived"]) expect(docStatusHelp(s)).toMatch(/\S/);
  });

  it("only a bad copy can be sent again", () => {
    expect(["copying", "ok", "hash_mismatch", "error", "archived"].filter(canResendDoc)).toEqual(["hash_mismatch", "error"]);
  });
});

describe("the list", () => {
  const row = (name: string): DocRow => ({ name, size: 1, createdTs: 1, updatedTs: 1 });
  const read = (...entries: DocEntry[]): Details => new Map(entries.map((e) => [e.name, { entry: e, at: 1_000 }]));

  it("reads statuses only for the rows in view: unread ones, and copying ones gone stale", () => {
    const details = read(doc("a", "ok"), doc("b", "copying"));
    expect(namesToRead(["a", "b", "c"], details, 1_000 + 10)).toEqual(["c"]);
    expect(namesToRead(["a", "b", "c"], details, 1_000 + COPYING_REFRESH_MS)).toEqual(["b", "c"]);
    const screenful = Array.from({ length: 500 }, (_, i) => `n${i}`);
    expect(namesToRead(screenful, new Map(), 0)).toHaveLength(DETAILS_BATCH);
  });

  it("refreshes while a Doc in view is copying", () => {
    const details = read(doc("a", "ok"), doc("b", "copying"));
    expect(anyCopying(["a"], details)).toBe(false);
    expect(anyCopying(["a", "b"], details)).toBe(true);
    expect(anyCopying([], details)).toBe(false);
  });

  it("merges reads: a name asked for and not answered is gone", () => {
    const before = read(doc("a", "copying"), doc("b", "ok"));
    const after = mergeDetails(before, [doc("a", "ok")], ["a", "b"], 2_000);
    expect([...after.keys()]).toEqual(["a"]);
    expect(after.get("a")).toEqual({ entry: doc("a", "ok"), at: 2_000 });
    // Listed and unchanged since the read: kept. Changed (updatedTs moved) or gone: read again.
    const listed = [{ ...row("a"), updatedTs: 1_700_000_001 }, { ...row("b"), updatedTs: 1_800_000_000 }];
    expect([...keepListed(read(doc("a", "ok"), doc("b", "ok"), doc("x", "ok")), listed).keys()]).toEqual(["a"]);
  });

  it("sorts by name", () => {
    expect(sortDocs([row("b"), row("a"), row("c")]).map((d) => d.name)).toEqual(["a", "b", "c"]);
  });

  it("summarises the counts, saying how many statuses were read", () => {
    const all = read(doc("a", "ok"), doc("b", "copying"), doc("c", "hash_mismatch"), doc("d", "ok"));
    const c = countDocs(4, all);
    expect(c).toEqual({ total: 4, read: 4, ok: 2, copying: 1, bad: 1 });
    expect(docsSummary(c)).toBe("4 Docs · 2 ok · 1 copying · 1 with problems");
    expect(docsSummary(countDocs(1, read(doc("a", "ok"))))).toBe("1 Doc · 1 ok");
    expect(docsSummary(countDocs(0, new Map()))).toBe("0 Docs");
    expect(docsSummary(countDocs(20_000, read(doc("a", "ok"))))).toBe("20,000 Docs · 1 read: 1 ok");
  });

  it("keeps the selection only while its Doc is listed", () => {
    const docs = [row("a")];
    expect(keepSelection(docs, "a")).toBe("a");
    expect(keepSelection(docs, "gone")).toBeNull();
    expect(keepSelection(docs, null)).toBeNull();
  });
});

describe("details", () => {
  it("formats timestamps in local time", () => {
    const d = new Date(2026, 4, 4, 14, 3, 12);
    expect(formatTimestamp(d.getTime() / 1000)).toBe("2026-05-04 14:03:12");
    expect(formatTimestamp(null)).toBe("—");
    expect(formatTimestamp(0)).toBe("—");
    expect(formatTimestamp(Number.NaN)).toBe("—");
  });

  it("names storage classes", () => {
    expect(storageClassLabel("access_optimized")).toBe("Access optimized");
    expect(storageClassLabel("cost_optimized")).toBe("Cost optimized");
    expect(storageClassLabel(null)).toBe("—");
    expect(storageClassLabel("glacier")).toBe("glacier");
  });

  it("shows a description as indented JSON, none as null", () => {
    expect(formatDescription({ origin: "scanner", n: 2 })).toBe('{\n  "origin": "scanner",\n  "n": 2\n}');
    expect(formatDescription(null)).toBeNull();
    expect(formatDescription(undefined)).toBeNull();
    expect(formatDescription({})).toBeNull();
    expect(formatDescription("text")).toBe('"text"');
  });
});

describe("originalName", () => {
  it("says the file's own name only where the Doc's name does not", () => {
    expect(originalName({ original_name: "Quarterly report.pdf" }, "Reports/Quarterly_report.pdf")).toBe("Quarterly report.pdf");
    expect(originalName({ original_name: "notes.txt" }, "Reports/notes.txt")).toBeNull();
    expect(originalName({ original_name: "notes.txt" }, "notes.txt")).toBeNull();
    expect(originalName({ team: "ops" }, "a.txt")).toBeNull();
    expect(originalName({ original_name: 7 }, "a.txt")).toBeNull();
    expect(originalName(null, "a.txt")).toBeNull();
  });
});
