// Pure queue logic: a reducer that applies QueueEvents to queue items, plus
// formatting helpers. No Svelte, no Tauri: unit-tested in queue.test.ts.

import type { ApiError, QueueEvent, Stage } from "./types";

/** Values of the `data-status` attribute of a queue <li>. */
export type ItemStatus =
  | "queued"
  | Stage
  | "ok"
  | "hash_mismatch"
  | "error"
  | "failed"
  | "skipped"
  | "paused"
  | "cancelled";

export const ITEM_STATUSES: readonly ItemStatus[] = [
  "queued",
  "hashing",
  "uploading",
  "attaching",
  "verifying",
  "ok",
  "hash_mismatch",
  "error",
  "failed",
  "skipped",
  "paused",
  "cancelled",
];

export type QueueItem = {
  id: number;
  /** Twin the item is uploaded to (known from the upload_paths call, not the event). */
  twin: string | null;
  path: string;
  fileName: string;
  docName: string | null;
  size: number | null;
  status: ItemStatus;
  bytesDone: number;
  bytesTotal: number;
  sha256: string | null;
  error: ApiError | null;
  /** Why it was skipped, or the retry in progress. */
  note: string | null;
};

export type BadgeTone = "pending" | "active" | "ok" | "bad";

const TERMINAL: ReadonlySet<ItemStatus> = new Set(["ok", "hash_mismatch", "error", "failed", "skipped", "cancelled"]);
const ACTIVE: ReadonlySet<ItemStatus> = new Set(["queued", "hashing", "uploading", "attaching", "verifying"]);

export function isTerminal(status: ItemStatus): boolean {
  return TERMINAL.has(status);
}

export function isActive(status: ItemStatus): boolean {
  return ACTIVE.has(status);
}

/**
 * Applies one event to the list (newest first) and returns a new list; the
 * input is never mutated. Events for unknown ids (other than "added") are
 * ignored, as are progress events after an item reached a final status.
 */
export function applyEvent(
  items: readonly QueueItem[],
  ev: QueueEvent,
  twin: string | null = null,
): QueueItem[] {
  if (ev.type === "added") {
    const fresh: QueueItem = {
      id: ev.id,
      twin,
      path: ev.path,
      fileName: ev.fileName || baseName(ev.path),
      docName: ev.docName,
      size: ev.size,
      status: "queued",
      bytesDone: 0,
      bytesTotal: ev.size ?? 0,
      sha256: null,
      error: null,
      note: null,
    };
    const idx = items.findIndex((it) => it.id === ev.id);
    if (idx >= 0) {
      // Duplicate "added": refresh the item in place rather than listing it twice.
      const copy = items.slice();
      copy[idx] = { ...fresh, twin: twin ?? items[idx].twin };
      return copy;
    }
    return [fresh, ...items];
  }

  if (ev.type === "stats") return items.slice();
  const idx = items.findIndex((it) => it.id === ev.id);
  if (idx < 0) return items.slice();
  const cur = items[idx];
  let next: QueueItem;

  switch (ev.type) {
    case "progress":
      if (isTerminal(cur.status)) return items.slice();
      next = {
        ...cur,
        status: ev.stage,
        bytesDone: ev.bytesDone,
        bytesTotal: ev.bytesTotal,
        note: null,
      };
      break;
    case "finished": {
      const total = cur.bytesTotal || cur.size || 0;
      next = {
        ...cur,
        status: ev.status,
        docName: ev.docName,
        sha256: ev.sha256 || null,
        bytesTotal: total,
        bytesDone: ev.status === "ok" ? total : cur.bytesDone,
      };
      break;
    }
    case "failed":
      next = { ...cur, status: "failed", error: ev.error, note: null };
      break;
    case "skipped":
      next = { ...cur, status: "skipped", docName: ev.docName, note: ev.reason };
      break;
    case "renamed":
      next = { ...cur, docName: ev.docName, note: "the name was taken by a different Doc" };
      break;
    case "retrying":
      if (isTerminal(cur.status)) return items.slice();
      next = { ...cur, note: `retrying in ${Math.ceil(ev.waitMs / 1000)} s: ${ev.error.code}` };
      break;
    case "state":
      if (isTerminal(cur.status)) return items.slice();
      next = { ...cur, status: ev.state };
      break;
    default:
      return items.slice();
  }

  const copy = items.slice();
  copy[idx] = next;
  return copy;
}

/** Applies several events in order. */
export function applyEvents(
  items: readonly QueueItem[],
  events: readonly QueueEvent[],
  twin: string | null = null,
): QueueItem[] {
  let out = items.slice();
  for (const ev of events) out = applyEvent(out, ev, twin);
  return out;
}

/** Removes items with a final status (ok, hash_mismatch, error, failed). */
export function clearFinished(items: readonly QueueItem[]): QueueItem[] {
  return items.filter((it) => !isTerminal(it.status));
}

export type QueueSummary = { ok: number; skipped: number; failed: number; active: number; total: number };

export function summarize(items: readonly QueueItem[]): QueueSummary {
  const s: QueueSummary = { ok: 0, skipped: 0, failed: 0, active: 0, total: items.length };
  for (const it of items) {
    if (it.status === "ok") s.ok++;
    else if (it.status === "skipped" || it.status === "cancelled") s.skipped++;
    else if (isTerminal(it.status)) s.failed++;
    else s.active++;
  }
  return s;
}

export function summaryText(s: QueueSummary): string {
  const skipped = s.skipped > 0 ? ` · ${s.skipped} skipped` : "";
  return `${s.ok} ok${skipped} · ${s.failed} failed · ${s.active} active`;
}

/** Human label of a status, for the badge. */
export function statusLabel(status: ItemStatus): string {
  switch (status) {
    case "queued":
      return "Queued";
    case "hashing":
      return "Hashing";
    case "uploading":
      return "Uploading";
    case "attaching":
      return "Attaching";
    case "verifying":
      return "Verifying";
    case "ok":
      // The server's own word for a verified copy.
      return "ok · verified";
    case "hash_mismatch":
      return "Hash mismatch";
    case "error":
      return "Error";
    case "failed":
      return "Failed";
    case "skipped":
      return "Skipped";
    case "paused":
      return "Paused";
    case "cancelled":
      return "Cancelled";
  }
}

/** Colour family of a badge: ok green, problems red, work in progress blue. */
export function badgeTone(status: ItemStatus): BadgeTone {
  switch (status) {
    case "ok":
      return "ok";
    case "hash_mismatch":
    case "error":
    case "failed":
      return "bad";
    case "queued":
    case "paused":
    case "skipped":
    case "cancelled":
      return "pending";
    default:
      return "active";
  }
}

/** Progress in percent (0..100, integer) for the bar. */
export function progressPercent(item: Pick<QueueItem, "status" | "bytesDone" | "bytesTotal">): number {
  if (item.status === "ok") return 100;
  const { bytesDone, bytesTotal } = item;
  if (!(bytesTotal > 0) || !(bytesDone > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((bytesDone / bytesTotal) * 100)));
}

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/**
 * Human-readable size with 1024 steps: 0 B, 999 B, 1.5 KB, 12 KB, 3.4 MB.
 * One decimal below 10 units, none above. null/invalid → "—".
 */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return "—";
  if (n < 1024) return `${Math.round(n)} B`;
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounding may push 1023.96 KB to "1024 KB": carry over to the next unit.
  let text = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  if (Number(text) >= 1024 && unit < UNITS.length - 1) {
    unit++;
    text = (value / 1024).toFixed(1);
  }
  if (text.endsWith(".0")) text = text.slice(0, -2);
  return `${text} ${UNITS[unit]}`;
}

/** "1.2 MB of 3.4 MB" style progress text. */
export function formatProgress(done: number, total: number): string {
  if (!(total > 0)) return formatBytes(done);
  return `${formatBytes(done)} of ${formatBytes(total)}`;
}

/** Last path segment, for either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p.length > 0);
  return parts.length ? parts[parts.length - 1] : path;
}

/** "1e7a8c4d…90ab" — keeps both ends of a long id readable. */
export function shortId(id: string, head = 8, tail = 4): string {
  if (id.length <= head + tail + 1) return id;
  return `${id.slice(0, head)}…${id.slice(-tail)}`;
}
