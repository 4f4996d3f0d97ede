// Pure queue logic: a reducer that applies QueueEvents to queue items, plus
// formatting helpers. No Svelte, no Tauri: unit-tested in queue.test.ts.

import type { ApiError, DocStatus, QueueEvent, Stage } from "./types";
import { formatBytes, formatRate } from "./units";

export { formatBytes, formatRate };

/** Values of the `data-status` attribute of a queue <li>. */
export type ItemStatus =
  | "queued"
  | Stage
  | "ok"
  | "hash_mismatch"
  | "unverified"
  | "error"
  | "failed"
  | "skipped"
  | "paused"
  | "cancelled";

export const ITEM_STATUSES: readonly ItemStatus[] = [
  "queued",
  "uploading",
  "attaching",
  "verifying",
  "ok",
  "hash_mismatch",
  "unverified",
  "error",
  "failed",
  "skipped",
  "paused",
  "cancelled",
];

export type QueueItem = {
  id: number;
  /** Twin the item is uploaded to (known from the upload_planned call, not the event). */
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
  /** A bad copy (hash_mismatch, error) whose file has since been sent again as a new job. */
  resent: boolean;
};

export type BadgeTone = "pending" | "active" | "ok" | "bad";

const TERMINAL: ReadonlySet<ItemStatus> = new Set([
  "ok",
  "hash_mismatch",
  "unverified",
  "error",
  "failed",
  "skipped",
  "cancelled",
]);
const ACTIVE: ReadonlySet<ItemStatus> = new Set(["queued", "uploading", "attaching", "verifying"]);

export function isTerminal(status: ItemStatus): boolean {
  return TERMINAL.has(status);
}

export function isActive(status: ItemStatus): boolean {
  return ACTIVE.has(status);
}

function freshItem(ev: Extract<QueueEvent, { type: "added" }>, twin: string | null): QueueItem {
  return {
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
    resent: false,
  };
}

/** A finished job's Doc status; one the server may add someday shows as an error. */
function finishedStatus(status: DocStatus): ItemStatus {
  return status === "ok" || status === "hash_mismatch" || status === "unverified" ? status : "error";
}

/** The item after one event about it, or `cur` itself when the event changes nothing. */
function nextItem(cur: QueueItem, ev: Exclude<QueueEvent, { type: "added" } | { type: "stats" }>): QueueItem {
  switch (ev.type) {
    case "progress":
      if (isTerminal(cur.status)) return cur;
      return { ...cur, status: ev.stage, bytesDone: ev.bytesDone, bytesTotal: ev.bytesTotal, note: null };
    case "finished": {
      const total = cur.bytesTotal || cur.size || 0;
      return {
        ...cur,
        status: finishedStatus(ev.status),
        docName: ev.docName,
        sha256: ev.sha256 || null,
        bytesTotal: total,
        bytesDone: ev.status === "ok" ? total : cur.bytesDone,
      };
    }
    case "failed":
      return { ...cur, status: "failed", error: ev.error, note: null };
    case "skipped":
      return { ...cur, status: "skipped", docName: ev.docName, note: ev.reason };
    case "renamed":
      return { ...cur, docName: ev.docName, note: "the name was taken by a different Doc" };
    case "retrying":
      if (isTerminal(cur.status)) return cur;
      return { ...cur, note: `retrying in ${Math.ceil(ev.waitMs / 1000)} s: ${ev.error.code}` };
    case "state":
      // A failed item put back in the queue (Retry) moves again; other final items stay final.
      if (cur.status === "failed" && ev.state === "queued") {
        return { ...cur, status: "queued", error: null, note: null, bytesDone: 0 };
      }
      if (isTerminal(cur.status)) return cur;
      // The engine sends `state` for these three only; the rest of a job's life comes as
      // progress, finished, failed or skipped.
      if (ev.state !== "queued" && ev.state !== "paused" && ev.state !== "cancelled") return cur;
      // Out of the upload (paused, or back in the queue): its next upload starts from zero.
      return { ...cur, status: ev.state, bytesDone: 0 };
  }
}

/**
 * Applies one event to the list (newest first) and returns a new list; the
 * input is never mutated. Events for unknown ids (other than "added") are
 * ignored, as are progress events after an item reached a final status.
 */
export function applyEvent(items: readonly QueueItem[], ev: QueueEvent, twin: string | null = null): QueueItem[] {
  return applyEvents(items, [ev], twin);
}

/**
 * Applies several events in order, in one pass: the list is copied once and items are found
 * through an index, so a batch costs O(list + events) whatever its size (10,000 items and
 * thousands of events per second stay cheap).
 */
export function applyEvents(items: readonly QueueItem[], events: readonly QueueEvent[], twin: string | null = null): QueueItem[] {
  const out = items.slice();
  // New items in arrival order; they go on top, newest first, at the end.
  const fresh: QueueItem[] = [];
  // id → index in `out` (>= 0) or in `fresh` (encoded as -1 - index).
  let index: Map<number, number> | null = null;
  const find = (id: number): number | undefined => {
    if (index === null) {
      index = new Map();
      for (let i = 0; i < out.length; i++) index.set(out[i].id, i);
    }
    return index.get(id);
  };
  for (const ev of events) {
    if (ev.type === "stats") continue;
    const at = find(ev.id);
    if (ev.type === "added") {
      const item = freshItem(ev, twin);
      if (at === undefined) {
        fresh.push(item);
        index!.set(ev.id, -1 - (fresh.length - 1));
      } else if (at >= 0) {
        // Duplicate "added": refresh the item in place rather than listing it twice.
        out[at] = { ...item, twin: twin ?? out[at].twin };
      } else {
        const f = -1 - at;
        fresh[f] = { ...item, twin: twin ?? fresh[f].twin };
      }
      continue;
    }
    if (at === undefined) continue;
    if (at >= 0) out[at] = nextItem(out[at], ev);
    else fresh[-1 - at] = nextItem(fresh[-1 - at], ev);
  }
  if (fresh.length === 0) return out;
  fresh.reverse();
  return fresh.concat(out);
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
    case "unverified":
      // Delivered, but the storage sent no checksum to compare: not "ok".
      return "Sent · unverified";
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
    case "unverified":
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

// ---- Controls: which buttons an item offers, by status --------------------------------------

/** Queued or still sending bytes: the engine can pause it (attaching and later cannot). */
export function canPause(status: ItemStatus): boolean {
  return status === "queued" || status === "uploading";
}

export function canResume(status: ItemStatus): boolean {
  return status === "paused";
}

/** Not yet at the attach: once a Doc may exist, the job runs to its end. */
export function canCancel(status: ItemStatus): boolean {
  return canPause(status) || status === "paused";
}

/** A failed job goes back to the queue as it is. */
export function canRetry(status: ItemStatus): boolean {
  return status === "failed";
}

/** A Doc whose copy ended badly is deleted and its file sent again (once: then a new job does). */
export function canResend(status: ItemStatus, resent = false): boolean {
  return (status === "hash_mismatch" || status === "error") && !resent;
}

// ---- Filters ---------------------------------------------------------------------------------

export type QueueFilter = "all" | "active" | "done" | "failed" | "paused";

export const QUEUE_FILTERS: readonly QueueFilter[] = ["all", "active", "done", "failed", "paused"];

export function filterLabel(f: QueueFilter): string {
  return { all: "All", active: "Active", done: "Done", failed: "Failed", paused: "Paused" }[f];
}

/**
 * The one filter (besides "all") an item falls under. Cancelled items, and bad copies already
 * sent again (a newer row carries on), only show under "all". While the whole queue is paused,
 * a file waiting for its upload or in it is held, so it counts as paused (a copy the server is
 * making carries on, so it stays active).
 */
export function filterOf(status: ItemStatus, resent = false, queuePaused = false): QueueFilter | null {
  if (resent) return null;
  if (queuePaused && (status === "queued" || status === "uploading")) return "paused";
  if (isActive(status)) return "active";
  if (status === "paused") return "paused";
  if (status === "ok" || status === "skipped") return "done";
  if (status === "cancelled") return null;
  return "failed";
}

export function filterItems(items: readonly QueueItem[], f: QueueFilter, queuePaused = false): readonly QueueItem[] {
  return f === "all" ? items : items.filter((it) => filterOf(it.status, it.resent, queuePaused) === f);
}

export function countByFilter(items: readonly QueueItem[], queuePaused = false): Record<QueueFilter, number> {
  const n: Record<QueueFilter, number> = { all: items.length, active: 0, done: 0, failed: 0, paused: 0 };
  for (const it of items) {
    const f = filterOf(it.status, it.resent, queuePaused);
    if (f) n[f]++;
  }
  return n;
}

// ---- Virtual window: which rows of a long list are in the DOM -------------------------------

export type RowRange = { start: number; end: number };

/**
 * The rows to render for a list of `count` rows of `rowHeight` px scrolled to `scrollTop` in a
 * viewport `viewport` px high, with `overscan` extra rows on each side. `end` is exclusive. The
 * number of rows is bounded by the viewport, never by `count`.
 */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 4,
): RowRange {
  if (count <= 0 || !(rowHeight > 0)) return { start: 0, end: 0 };
  const top = Math.max(0, Number.isFinite(scrollTop) ? scrollTop : 0);
  const height = Math.max(0, Number.isFinite(viewport) ? viewport : 0);
  const first = Math.min(count - 1, Math.floor(top / rowHeight));
  const last = Math.min(count, Math.ceil((top + height) / rowHeight));
  return { start: Math.max(0, first - overscan), end: Math.min(count, Math.max(last, first + 1) + overscan) };
}

/** The scrollTop that brings row `index` fully into view (unchanged when it already is). */
export function scrollToRow(index: number, scrollTop: number, viewport: number, rowHeight: number): number {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewport) return Math.max(0, top + rowHeight - viewport);
  return scrollTop;
}

// ---- Speed and time left ---------------------------------------------------------------------

/** "0:42", "12:05", "1:02:03"; unknown → "—". */
export function formatEta(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return "—";
  const total = Math.ceil(secs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The queue as a whole, from the engine's `stats` events. */
export type QueueStats = Omit<Extract<QueueEvent, { type: "stats" }>, "type">;

/** The last `stats` event of a batch, if any. */
export function latestStats(events: readonly QueueEvent[]): QueueStats | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i];
    if (ev.type === "stats") {
      const { type: _type, ...stats } = ev;
      return stats;
    }
  }
  return null;
}

/** "2.4 MB/s · 0:42 left" ("380 files/s · 1.5 MB/s · …" for small files), or "Idle". */
export function statsText(stats: QueueStats | null, paused: boolean, pausedItems = 0): string {
  if (paused) return "Paused";
  // Nothing moves, but files wait on the user: "Idle" alone would hide them (the failed ones
  // are in the headline, `batchText`).
  if (!stats || stats.active === 0) return pausedItems > 0 ? `Idle · ${count(pausedItems)} paused` : "Idle";
  const eta = stats.etaSecs === null ? "" : ` · ${formatEta(stats.etaSecs)} left`;
  const files = smallFiles(stats) ? `${Math.round(stats.filesPerSec ?? 0).toLocaleString("en-US")} files/s · ` : "";
  return `${files}${formatRate(stats.bytesPerSec)}${eta}`;
}

const count = (n: number) => n.toLocaleString("en-US");

/**
 * The header's headline, from the batch's own counts (the engine's one model of it):
 * "Uploading 237 of 1,005 · 3 failed". The failures are the list's: they stay in view, across
 * batches, until retried, removed or cleared.
 */
export function batchText(stats: QueueStats | null, paused: boolean, failedItems: number): string {
  const failed = failedItems > 0 ? `${count(failedItems)} failed` : "";
  const total = stats?.filesTotal ?? 0;
  const ofTotal = total > 0 ? `${count(stats!.filesDone)} of ${count(total)}` : "";
  if (paused) return ["Paused", ofTotal && `${ofTotal} done`, failed].filter(Boolean).join(" · ");
  if (stats && stats.active > 0 && total > 0) return [`Uploading ${ofTotal}`, failed].filter(Boolean).join(" · ");
  if (failed) return [failed, ofTotal && `${ofTotal} done`].filter(Boolean).join(" · ");
  return ofTotal ? `Done · ${ofTotal}` : "Nothing to upload";
}

/** How far the batch is, 0..100: by bytes, or by files while they are small or sizeless. */
export function batchPercent(stats: QueueStats | null): number {
  if (!stats) return 0;
  const byFiles = smallFiles(stats) || !(stats.bytesTotal > 0);
  const [done, total] = byFiles ? [stats.filesDone, stats.filesTotal] : [stats.bytesDone, stats.bytesTotal];
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

/**
 * The list as the window shows it: what needs eyes first. Moving files (oldest first: they
 * started first), then failures (newest first), then the queue in the order it will go, then
 * paused ones, and the finished last (newest first). One pass: 100,000 items stay cheap.
 */
export function viewOrder(items: readonly QueueItem[]): QueueItem[] {
  const moving: QueueItem[] = [];
  const failed: QueueItem[] = [];
  const waiting: QueueItem[] = [];
  const held: QueueItem[] = [];
  const ended: QueueItem[] = [];
  // `items` is newest first.
  for (const it of items) {
    if (it.status === "uploading" || it.status === "attaching" || it.status === "verifying") moving.push(it);
    else if (it.status === "queued") waiting.push(it);
    else if (it.status === "paused") held.push(it);
    else if (badgeTone(it.status) === "bad" && !it.resent) failed.push(it);
    else ended.push(it);
  }
  return [...moving.reverse(), ...failed, ...waiting.reverse(), ...held, ...ended];
}

/**
 * The row's own figures. Speed and time left come only from the queue's figures, so no row
 * contradicts the header: a row shows them when it is the one file moving bytes.
 */
export function rowProgress(it: Pick<QueueItem, "bytesDone" | "bytesTotal">, stats: QueueStats | null, soleMover: boolean): string {
  const progress = formatProgress(it.bytesDone, it.bytesTotal);
  if (!soleMover || !stats || stats.active === 0 || !((stats.bytesPerSec ?? 0) > 0)) return progress;
  const eta = stats.etaSecs === null ? "" : ` · ${formatEta(stats.etaSecs)} left`;
  return `${progress} · ${formatRate(stats.bytesPerSec)}${eta}`;
}

/** The header's tone: failures waiting on the user outrank everything but a pause, and stay
 * until dealt with (retried, removed or cleared), while other files still move too. */
export function statsTone(stats: QueueStats | null, paused: boolean, failedItems: number): "paused" | "failed" | "moving" | "idle" {
  if (paused) return "paused";
  if (failedItems > 0) return "failed";
  return !stats || stats.active === 0 ? "idle" : "moving";
}

/** Files go by faster than one a second and average under 1 MiB: then the rate of files is the
 * figure that means something (the CLI's bar follows the same rule). */
export function smallFiles(stats: QueueStats): boolean {
  const files = stats.filesPerSec ?? 0;
  return files >= 1 && (stats.bytesPerSec ?? 0) / files < 1024 * 1024;
}

/** Jobs heard on the window's channel carry no Twin: set it once the caller knows it. */
export function assignTwin(items: readonly QueueItem[], ids: readonly number[], twin: string): QueueItem[] {
  const wanted = new Set(ids);
  return items.map((it) => (wanted.has(it.id) && it.twin === null ? { ...it, twin } : it));
}

/** Whether a batch settled an upload to `twin` (its Docs list is then out of date). */
export function settlesTwin(events: readonly QueueEvent[], items: readonly QueueItem[], twin: string | null): boolean {
  if (!twin) return false;
  const ids = new Set<number>();
  for (const ev of events) if (ev.type === "finished" || ev.type === "skipped") ids.add(ev.id);
  if (ids.size === 0) return false;
  return items.some((it) => ids.has(it.id) && (it.twin === twin || it.twin === null));
}

/** The bad copies of `docName` on `twin` were sent again: their rows stop offering it. */
export function markResent(items: readonly QueueItem[], twin: string, docName: string): QueueItem[] {
  return items.map((it) =>
    canResend(it.status, it.resent) && it.docName === docName && (it.twin === twin || it.twin === null)
      ? { ...it, resent: true, note: "Sent again as a new upload" }
      : it,
  );
}

/** What "Retry failed" acts on: failed jobs (back to the queue) and bad copies (sent again). */
export function retryTargets(items: readonly QueueItem[]): { failed: number; resend: QueueItem[] } {
  let failed = 0;
  const resend: QueueItem[] = [];
  for (const it of items) {
    if (canRetry(it.status)) failed++;
    else if (canResend(it.status, it.resent) && it.docName) resend.push(it);
  }
  return { failed, resend };
}

/**
 * The ids the window asks the journal about this round: items still moving, at most `max` at a
 * time, taking turns (`round` counts up), so 10,000 queued items never make one huge request.
 */
export function catchUpIds(items: readonly QueueItem[], round: number, max = 500): number[] {
  const moving: number[] = [];
  for (const it of items) if (!isTerminal(it.status)) moving.push(it.id);
  if (moving.length <= max) return moving;
  const start = (round * max) % moving.length;
  const out = moving.slice(start, start + max);
  if (out.length < max) out.push(...moving.slice(0, max - out.length));
  return out;
}
