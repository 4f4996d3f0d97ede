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
