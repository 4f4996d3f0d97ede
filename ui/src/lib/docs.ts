// Pure logic of the Docs screen: labels, colours, when to refresh, formatting of details.
// No Svelte, no Tauri: unit-tested in docs.test.ts.

import { localTime } from "./when";
import type { DocEntry, DocRow, DocStatus } from "./types";
import type { BadgeTone } from "./queue";

/** How often the list is read again while some Doc is still `copying`. */
export const COPYING_REFRESH_MS = 1000;

/** How long after an upload settles the list is read again (settling in bursts reads once). */
export const SETTLED_REFRESH_MS = 500;

export function docStatusLabel(status: DocStatus): string {
  switch (status) {
    case "copying":
      return "Copying";
    case "ok":
      return "ok";
    case "hash_mismatch":
      return "Hash mismatch";
    case "unverified":
      return "Unverified";
    case "error":
      return "Error";
    default:
      return status;
  }
}

export function docTone(status: DocStatus): BadgeTone {
  switch (status) {
    case "ok":
      return "ok";
    case "copying":
      return "active";
    case "hash_mismatch":
    case "unverified":
    case "error":
      return "bad";
    default:
      return "pending";
  }
}

/** What the status means, for the details panel. */
export function docStatusHelp(status: DocStatus): string {
  switch (status) {
    case "copying":
      return "The server is still copying the uploaded bytes into the Twin.";
    case "ok":
      return "The server holds the file and its checksum matches the one sent at attach.";
    case "hash_mismatch":
      return "The bytes the server received differ from the file that was sent. Send the file again.";
    case "unverified":
      return "The storage took the bytes but sent no checksum, so Twindrop could not verify them.";
    case "error":
      return "The server could not copy the uploaded bytes. Send the file again.";
    default:
      return "A status this version of Twindrop does not know.";
  }
}

/** Only a Doc whose copy ended badly can be sent again (it is deleted first). */
export function canResendDoc(status: DocStatus): boolean {
  return status === "hash_mismatch" || status === "error";
}

/** The statuses read so far, by Doc name, each with when it was read (ms). */
export type Details = ReadonlyMap<string, { entry: DocEntry; at: number }>;

/** The most names one `docs_details` call asks for (the engine takes up to 200). */
export const DETAILS_BATCH = 100;

/**
 * The names among `inView` whose status should be read now: never read, or still copying and
 * last read at least `COPYING_REFRESH_MS` ago. Statuses are read only for the rows a window
 * shows, so a Twin of 20,000 Docs costs a screenful of reads, not 20,000.
 */
export function namesToRead(inView: readonly string[], details: Details, now: number): string[] {
  return inView
    .filter((name) => {
      const read = details.get(name);
      return !read || (read.entry.status === "copying" && now - read.at >= COPYING_REFRESH_MS);
    })
    .slice(0, DETAILS_BATCH);
}

/** Some Doc in view is still copying: read it again soon. */
export function anyCopying(inView: readonly string[], details: Details): boolean {
  return inView.some((name) => details.get(name)?.entry.status === "copying");
}

/** Fresh reads merged into what was read before (a name read again replaces its entry). */
export function mergeDetails(details: Details, fresh: readonly DocEntry[], asked: readonly string[], at: number): Details {
  const next = new Map(details);
  // Asked for but not answered: the Doc is gone.
  for (const name of asked) next.delete(name);
  for (const entry of fresh) next.set(entry.name, { entry, at });
  return next;
}

/** After a new listing, a status read before stays only while its Doc is listed and was not
 * changed since (the listing's `updatedTs` is the one the read saw). */
export function keepListed(details: Details, rows: readonly DocRow[]): Details {
  const updated = new Map(rows.map((r) => [r.name, r.updatedTs]));
  return new Map(
    [...details].filter(([name, { entry }]) => updated.has(name) && updated.get(name) === entry.updatedTs),
  );
}

export type DocCounts = { total: number; read: number; ok: number; copying: number; bad: number };

/** `total` from the listing; the statuses only of the Docs read so far. */
export function countDocs(total: number, details: Details): DocCounts {
  const c: DocCounts = { total, read: 0, ok: 0, copying: 0, bad: 0 };
  for (const { entry } of details.values()) {
    c.read++;
    if (entry.status === "ok") c.ok++;
    else if (entry.status === "copying") c.copying++;
    else c.bad++;
  }
  return c;
}

/** "12 Docs · 10 ok · 1 copying · 1 with problems"; "20,000 Docs · 40 read: 40 ok" when not
 * every status has been read. */
export function docsSummary(c: DocCounts): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const parts = [`${n(c.ok)} ok`];
  if (c.copying > 0) parts.push(`${n(c.copying)} copying`);
  if (c.bad > 0) parts.push(`${n(c.bad)} with problems`);
  const docs = `${n(c.total)} ${c.total === 1 ? "Doc" : "Docs"}`;
  if (c.total === 0) return docs;
  return c.read >= c.total ? `${docs} · ${parts.join(" · ")}` : `${docs} · ${n(c.read)} read: ${parts.join(" · ")}`;
}

/** By name, as the server lists them. */
export function sortDocs(rows: readonly DocRow[]): DocRow[] {
  return rows.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Epoch seconds → "2026-05-04 14:03:12" in local time; unknown → "—". */
export function formatTimestamp(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || !Number.isFinite(ts) || ts <= 0) return "—";
  return localTime(ts * 1000);
}

export function storageClassLabel(s: string | null | undefined): string {
  switch (s) {
    case "access_optimized":
      return "Access optimized";
    case "cost_optimized":
      return "Cost optimized";
    case null:
    case undefined:
    case "":
      return "—";
    default:
      return s;
  }
}

/** The description as indented JSON, or null when there is none. */
export function formatDescription(d: unknown): string | null {
  if (d === null || d === undefined) return null;
  if (typeof d === "object" && Object.keys(d as object).length === 0) return null;
  return JSON.stringify(d, null, 2);
}

/**
 * The file's own name a Doc keeps in its description (`original_name`), when it is not what
 * the Doc's name already says: `Quarterly report.pdf` for `Reports/Quarterly_report.pdf`.
 */
export function originalName(description: unknown, docName: string): string | null {
  if (description === null || typeof description !== "object") return null;
  const own = (description as Record<string, unknown>).original_name;
  if (typeof own !== "string" || own === "") return null;
  return docName === own || docName.endsWith(`/${own}`) ? null : own;
}

/** After a reload, keep the selection if its Doc is still there. */
export function keepSelection(docs: readonly DocRow[], selected: string | null): string | null {
  return selected !== null && docs.some((d) => d.name === selected) ? selected : null;
}

// ---- Search, sort and status filter -------------------------------------------------------
// The listing has names, sizes and dates for every Doc; statuses (and original names, which
// live in the description) only for the Docs read so far. A Doc not read yet is "unknown".

export type SortKey = "name" | "size" | "date" | "status";
export type SortDir = "asc" | "desc";
/** A status the filter and the status sort know; "unknown": not read yet, or a status this
 * version does not know. */
export type StatusKey = "ok" | "copying" | "hash_mismatch" | "error" | "unknown";
export type StatusFilter = "all" | StatusKey;

export type DocQuery = { search: string; sort: SortKey; dir: SortDir; status: StatusFilter };

export const DEFAULT_QUERY: DocQuery = { search: "", sort: "name", dir: "asc", status: "all" };

export const SORT_KEYS: readonly { value: SortKey; label: string }[] = [
  { value: "name", label: "Name" },
  { value: "size", label: "Size" },
  { value: "date", label: "Date" },
  { value: "status", label: "Status" },
];

export const STATUS_FILTERS: readonly { value: StatusFilter; label: string }[] = [
  { value: "all", label: "All statuses" },
  { value: "ok", label: "ok" },
  { value: "copying", label: "Copying" },
  { value: "hash_mismatch", label: "Hash mismatch" },
  { value: "error", label: "Error" },
  { value: "unknown", label: "Unknown" },
];

/** The direction a sort starts in when chosen: names A→Z, the biggest and newest first,
 * problems first. */
export function defaultDir(key: SortKey): SortDir {
  return key === "size" || key === "date" ? "desc" : "asc";
}

/** The status a Doc counts as: unknown until read. */
export function statusKey(name: string, details: Details): StatusKey {
  const s = details.get(name)?.entry.status;
  return s === "ok" || s === "copying" || s === "hash_mismatch" || s === "error" ? s : "unknown";
}

/** Status order, ascending: problems first, then copying, ok; unknown always last. */
const STATUS_RANK: Record<StatusKey, number> = { hash_mismatch: 0, error: 1, copying: 2, ok: 3, unknown: 4 };

/** The file's own name a Doc's description keeps, whatever the Doc's name is. */
export function describedName(description: unknown): string | null {
  if (description === null || typeof description !== "object") return null;
  const own = (description as Record<string, unknown>).original_name;
  return typeof own === "string" && own !== "" ? own : null;
}

/** The search as typed, made ready to match: trimmed, lower case. */
export function needle(search: string): string {
  return search.trim().toLowerCase();
}

/** Whether a Doc matches a search (`needle`): its name, or its original name once read. */
export function matchesSearch(name: string, details: Details, n: string): boolean {
  if (n === "") return true;
  if (name.toLowerCase().includes(n)) return true;
  const own = describedName(details.get(name)?.entry.description);
  return own !== null && own.toLowerCase().includes(n);
}

/**
 * The rows to show: searched (name and original name, any case), filtered by status, sorted.
 * The order is total: ties (and missing sizes, dates or statuses, which go last either way)
 * fall back to the name, A→Z, so the same Docs always show in the same order.
 */
export function viewDocs(rows: readonly DocRow[], details: Details, q: DocQuery): DocRow[] {
  const n = needle(q.search);
  const keep = rows.filter(
    (r) => matchesSearch(r.name, details, n) && (q.status === "all" || statusKey(r.name, details) === q.status),
  );
  // One key per row, computed once: 10,000 rows sort in a few milliseconds.
  const key = (r: DocRow): number | null => {
    switch (q.sort) {
      case "size":
        return r.size;
      case "date":
        return r.updatedTs ?? r.createdTs;
      case "status": {
        const s = statusKey(r.name, details);
        return s === "unknown" ? null : STATUS_RANK[s];
      }
      default:
        return 0;
    }
  };
  const sign = q.dir === "desc" ? -1 : 1;
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const keyed = keep.map((row) => ({ row, k: q.sort === "name" ? 0 : key(row) }));
  keyed.sort((a, b) => {
    if (a.k !== b.k) {
      if (a.k === null) return 1;
      if (b.k === null) return -1;
      return (a.k - b.k) * sign;
    }
    return q.sort === "name" ? byName(a.row.name, b.row.name) * sign : byName(a.row.name, b.row.name);
  });
  return keyed.map((x) => x.row);
}

/** Whether the view needs details the rows in view would not bring: a status filter or sort
 * needs every status, a search the original names of the Docs whose own name does not match. */
export function needsDetails(q: DocQuery): boolean {
  return q.status !== "all" || q.sort === "status" || needle(q.search) !== "";
}

/** The next Docs to read for such a view, in listing order, a batch at a time: none read yet. */
export function namesToReadForView(rows: readonly DocRow[], details: Details, q: DocQuery): string[] {
  if (!needsDetails(q)) return [];
  const everyStatus = q.status !== "all" || q.sort === "status";
  const n = needle(q.search);
  const out: string[] = [];
  for (const r of rows) {
    if (details.has(r.name)) continue;
    if (everyStatus || !r.name.toLowerCase().includes(n)) out.push(r.name);
    if (out.length >= DETAILS_BATCH) break;
  }
  return out;
}

/** "Showing 12 of 1,006", and while statuses are read for the view: "· 300 of 1,006 read";
 * nothing while every Doc shows (the header counts them). */
export function shownSummary(shown: number, total: number, read: number, q: DocQuery): string {
  const f = (x: number) => x.toLocaleString("en-US");
  const filtered = needle(q.search) !== "" || q.status !== "all";
  const reading = needsDetails(q) && read < total ? `${f(read)} of ${f(total)} read` : "";
  const base = filtered ? `Showing ${f(shown)} of ${f(total)}` : "";
  return [base, reading].filter((x) => x !== "").join(" · ");
}

/** The file name a save dialog offers for a Doc: its original name if it keeps one, else the
 * last part of its name (a Doc name may hold folders). */
export function suggestedFileName(name: string, description: unknown): string {
  const own = describedName(description);
  const base = own ?? name.slice(name.lastIndexOf("/") + 1);
  return base === "" ? "download" : base;
}

/** The Twin/Doc reference a person pastes elsewhere: `twin-uuid/doc_name`. */
export function docReference(twin: string, name: string): string {
  return `${twin}/${name}`;
}
