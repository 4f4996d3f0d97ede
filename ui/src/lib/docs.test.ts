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
  DEFAULT_QUERY,
  defaultDir,
  describedName,
  docReference,
  namesToReadForView,
  needsDetails,
  shownSummary,
  statusKey,
  suggestedFileName,
  viewDocs,
  type Details,
  type DocQuery,
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

describe("search, sort and status filter", () => {
  const row = (name: string, size: number | null, updatedTs: number | null): DocRow => ({
    name,
    size,
    createdTs: updatedTs === null ? null : updatedTs - 10,
    updatedTs,
  });
  const read = (entries: DocEntry[]): Details => new Map(entries.map((e) => [e.name, { entry: e, at: 0 }]));
  const q = (over: Partial<DocQuery>): DocQuery => ({ ...DEFAULT_QUERY, ...over });
  const names = (rows: DocRow[]) => rows.map((r) => r.name);

  const rows = [
    row("b.txt", 300, 1_700_000_300),
    row("A.txt", 100, 1_700_000_100),
    row("c/Report.pdf", 300, 1_700_000_200),
    row("d.bin", null, null),
    row("Quarterly_report.pdf", 50, 1_700_000_050),
  ];
  const details = read([
    doc("b.txt", "ok"),
    doc("A.txt", "hash_mismatch"),
    doc("Quarterly_report.pdf", "copying", { description: { original_name: "Quarterly report Ü.pdf" } }),
  ]);

  it("a status is unknown until read", () => {
    expect(statusKey("b.txt", details)).toBe("ok");
    expect(statusKey("d.bin", details)).toBe("unknown");
    expect(statusKey("x", read([doc("x", "unverified")]))).toBe("unknown");
    const unknown = viewDocs(rows, details, q({ status: "unknown" }));
    expect(names(unknown)).toEqual(["c/Report.pdf", "d.bin"]);
    // Once read, it leaves "unknown" for its own status.
    const later = read([...[...details.values()].map((d) => d.entry), doc("d.bin", "error")]);
    expect(names(viewDocs(rows, later, q({ status: "unknown" })))).toEqual(["c/Report.pdf"]);
    expect(names(viewDocs(rows, later, q({ status: "error" })))).toEqual(["d.bin"]);
  });

  it("searches names and original names, in any case", () => {
    expect(names(viewDocs(rows, details, q({ search: "  REPORT " })))).toEqual(["Quarterly_report.pdf", "c/Report.pdf"]);
    // "quarterly report" (with a space) is only in the original name.
    expect(names(viewDocs(rows, details, q({ search: "quarterly report ü" })))).toEqual(["Quarterly_report.pdf"]);
    expect(names(viewDocs(rows, details, q({ search: "nothing" })))).toEqual([]);
    expect(describedName({ original_name: "x y.txt" })).toBe("x y.txt");
    expect(describedName({ other: 1 })).toBeNull();
  });

  it("sorts by name, size, date and status, both ways; missing values go last", () => {
    expect(names(viewDocs(rows, details, q({})))).toEqual(["A.txt", "Quarterly_report.pdf", "b.txt", "c/Report.pdf", "d.bin"]);
    expect(names(viewDocs(rows, details, q({ dir: "desc" })))).toEqual([
      "d.bin",
      "c/Report.pdf",
      "b.txt",
      "Quarterly_report.pdf",
      "A.txt",
    ]);
    // Equal sizes fall back to the name, A→Z, in both directions.
    expect(names(viewDocs(rows, details, q({ sort: "size" })))).toEqual([
      "Quarterly_report.pdf",
      "A.txt",
      "b.txt",
      "c/Report.pdf",
      "d.bin",
    ]);
    expect(names(viewDocs(rows, details, q({ sort: "size", dir: "desc" })))).toEqual([
      "b.txt",
      "c/Report.pdf",
      "A.txt",
      "Quarterly_report.pdf",
      "d.bin",
    ]);
    expect(names(viewDocs(rows, details, q({ sort: "date", dir: "desc" })))).toEqual([
      "b.txt",
      "c/Report.pdf",
      "A.txt",
      "Quarterly_report.pdf",
      "d.bin",
    ]);
    // Problems first, then copying, ok; not read yet last either way.
    expect(names(viewDocs(rows, details, q({ sort: "status" })))).toEqual([
      "A.txt",
      "Quarterly_report.pdf",
      "b.txt",
      "c/Report.pdf",
      "d.bin",
    ]);
    expect(names(viewDocs(rows, details, q({ sort: "status", dir: "desc" })))).toEqual([
      "b.txt",
      "Quarterly_report.pdf",
      "A.txt",
      "c/Report.pdf",
      "d.bin",
    ]);
    expect([defaultDir("name"), defaultDir("size"), defaultDir("date"), defaultDir("status")]).toEqual([
      "asc",
      "desc",
      "desc",
      "asc",
    ]);
  });

  it("filters and sorts 10,000 Docs in a stable order whatever order they are listed in", () => {
    const statuses = ["ok", "copying", "hash_mismatch", "error"];
    const many: DocRow[] = [];
    const entries: DocEntry[] = [];
    for (let i = 0; i < 10_000; i++) {
      const name = `f${String(i).padStart(5, "0")}.txt`;
      // Only 100 distinct sizes: many ties.
      many.push(row(name, (i * 7919) % 100, 1_700_000_000 + (i % 37)));
      // Two of three read; the rest unknown.
      if (i % 3 !== 0) entries.push(doc(name, statuses[i % 4]));
    }
    const known = read(entries);
    const shuffled = many.slice().reverse();
    for (let i = shuffled.length - 1; i > 0; i -= 7) [shuffled[i], shuffled[i - 3]] = [shuffled[i - 3], shuffled[i]];

    const query = q({ search: "F0", sort: "size", dir: "desc", status: "error" });
    const started = performance.now();
    const shown = viewDocs(many, known, query);
    const took = performance.now() - started;
    expect(names(viewDocs(shuffled, known, query))).toEqual(names(shown));
    // f0xxxx: 0..9999 all start with f0 → every read Doc whose i % 4 == 3.
    const expected = many.filter((_, i) => i % 3 !== 0 && i % 4 === 3);
    expect(shown.length).toBe(expected.length);
    for (let i = 1; i < shown.length; i++) {
      const [a, b] = [shown[i - 1], shown[i]];
      expect(a.size! > b.size! || (a.size === b.size && a.name < b.name)).toBe(true);
    }
    // A guard against an accidental quadratic sort, not a speed claim.
    expect(took).toBeLessThan(1000);

    const byStatus = viewDocs(shuffled, known, q({ sort: "status" }));
    expect(byStatus.length).toBe(10_000);
    expect(statusKey(byStatus[0].name, known)).toBe("hash_mismatch");
    expect(statusKey(byStatus[9_999].name, known)).toBe("unknown");
    expect(names(byStatus)).toEqual(names(viewDocs(many, known, q({ sort: "status" }))));
  });

  it("reads every status for a status view, original names for a search, a batch at a time", () => {
    const many = Array.from({ length: 250 }, (_, i) => row(`doc${i}.txt`, i, i));
    const none: Details = new Map();
    expect(needsDetails(DEFAULT_QUERY)).toBe(false);
    expect(namesToReadForView(many, none, DEFAULT_QUERY)).toEqual([]);
    const status = namesToReadForView(many, none, q({ status: "ok" }));
    expect(status.length).toBe(DETAILS_BATCH);
    expect(status[0]).toBe("doc0.txt");
    const someRead = read(many.slice(0, 240).map((r) => doc(r.name, "ok")));
    expect(namesToReadForView(many, someRead, q({ sort: "status" }))).toEqual(many.slice(240).map((r) => r.name));
    // A search reads only the Docs its name does not already match.
    const search = namesToReadForView(many.slice(0, 20), none, q({ search: "doc1" }));
    expect(search).not.toContain("doc1.txt");
    expect(search).not.toContain("doc12.txt");
    expect(search).toContain("doc2.txt");
  });

  it("says how many are shown, and how many read while a filter needs them", () => {
    expect(shownSummary(1_006, 1_006, 20, DEFAULT_QUERY)).toBe("");
    expect(shownSummary(1_006, 1_006, 20, q({ sort: "status" }))).toBe("20 of 1,006 read");
    expect(shownSummary(12, 1_006, 1_006, q({ search: "report" }))).toBe("Showing 12 of 1,006");
    expect(shownSummary(3, 1_006, 300, q({ status: "error" }))).toBe("Showing 3 of 1,006 · 300 of 1,006 read");
  });

  it("offers a file name and a reference for each Doc", () => {
    expect(suggestedFileName("reports/q3.pdf", null)).toBe("q3.pdf");
    expect(suggestedFileName("Quarterly_report.pdf", { original_name: "Quarterly report.pdf" })).toBe(
      "Quarterly report.pdf",
    );
    expect(docReference("0f8fad5b-d9cb-469f-a165-70867728950e", "reports/q3.pdf")).toBe(
      "0f8fad5b-d9cb-469f-a165-70867728950e/reports/q3.pdf",
    );
  });
});
