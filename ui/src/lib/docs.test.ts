import { describe, expect, it } from "vitest";
import {
  anyCopying,
  canResendDoc,
  countDocs,
  docStatusHelp,
  docStatusLabel,
  docTone,
  docsSummary,
  formatDescription,
  formatTimestamp,
  keepSelection,
  sortDocs,
  storageClassLabel,
} from "./docs";
import type { DocEntry } from "./types";

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
  it("refreshes while anything is copying", () => {
    expect(anyCopying([doc("a", "ok")])).toBe(false);
    expect(anyCopying([doc("a", "ok"), doc("b", "copying")])).toBe(true);
    expect(anyCopying([])).toBe(false);
  });

  it("sorts problems first, then copying, then ok, by name within each", () => {
    const docs = [doc("b", "ok"), doc("a", "ok"), doc("z", "copying"), doc("m", "hash_mismatch"), doc("c", "error"), doc("q", "odd")];
    expect(sortDocs(docs).map((d) => d.name)).toEqual(["c", "m", "z", "q", "a", "b"]);
    expect(docs[0].name).toBe("b");
  });

  it("summarises the counts", () => {
    const c = countDocs([doc("a", "ok"), doc("b", "copying"), doc("c", "hash_mismatch"), doc("d", "ok")]);
    expect(c).toEqual({ total: 4, ok: 2, copying: 1, bad: 1 });
    expect(docsSummary(c)).toBe("4 Docs · 2 ok · 1 copying · 1 with problems");
    expect(docsSummary(countDocs([doc("a", "ok")]))).toBe("1 Doc · 1 ok");
    expect(docsSummary(countDocs([]))).toBe("0 Docs · 0 ok");
  });

  it("keeps the selection only while its Doc is listed", () => {
    const docs = [doc("a", "ok")];
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
