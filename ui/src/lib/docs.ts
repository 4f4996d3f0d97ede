// Pure logic of the Docs screen: labels, colours, when to refresh, formatting of details.
// No Svelte, no Tauri: unit-tested in docs.test.ts.

import type { DocEntry, DocStatus } from "./types";
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

/** The list must be read again soon while some copy is still running. */
export function anyCopying(docs: readonly DocEntry[]): boolean {
  return docs.some((d) => d.status === "copying");
}

export type DocCounts = { total: number; ok: number; copying: number; bad: number };

export function countDocs(docs: readonly DocEntry[]): DocCounts {
  const c: DocCounts = { total: docs.length, ok: 0, copying: 0, bad: 0 };
  for (const d of docs) {
    if (d.status === "ok") c.ok++;
    else if (d.status === "copying") c.copying++;
    else c.bad++;
  }
  return c;
}

/** "12 Docs · 10 ok · 1 copying · 1 with problems" */
export function docsSummary(c: DocCounts): string {
  const parts = [`${c.total} ${c.total === 1 ? "Doc" : "Docs"}`, `${c.ok} ok`];
  if (c.copying > 0) parts.push(`${c.copying} copying`);
  if (c.bad > 0) parts.push(`${c.bad} with problems`);
  return parts.join(" · ");
}

/** Problems first, then copying, then ok; by name within each. */
export function sortDocs(docs: readonly DocEntry[]): DocEntry[] {
  const rank = (s: DocStatus) => (s === "hash_mismatch" || s === "error" ? 0 : s === "copying" ? 1 : s === "ok" ? 3 : 2);
  return docs.slice().sort((a, b) => rank(a.status) - rank(b.status) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Epoch seconds → "2026-05-04 14:03:12" in local time; unknown → "—". */
export function formatTimestamp(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || !Number.isFinite(ts) || ts <= 0) return "—";
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
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

/** After a reload, keep the selection if its Doc is still there. */
export function keepSelection(docs: readonly DocEntry[], selected: string | null): string | null {
  return selected !== null && docs.some((d) => d.name === selected) ? selected : null;
}
