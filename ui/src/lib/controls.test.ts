import { describe, expect, it } from "vitest";
import {
  ITEM_STATUSES,
  QUEUE_FILTERS,
  applyEvent,
  applyEvents,
  assignTwin,
  canCancel,
  catchUpIds,
  markResent,
  retryTargets,
  canPause,
  canResend,
  canResume,
  canRetry,
  countByFilter,
  filterItems,
  filterOf,
  formatEta,
  formatRate,
  latestStats,
  scrollToRow,
  settlesTwin,
  statsText,
  statsTone,
  visibleRange,
  type ItemStatus,
  type QueueItem,
} from "./queue";
import type { ErrorInfo, QueueEvent } from "./types";

const TWIN = "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90";

function added(id: number, size = 1000): QueueEvent {
  return { type: "added", id, path: `/d/f${id}.bin`, fileName: `f${id}.bin`, docName: `f${id}.bin`, size };
}

function withStatus(id: number, status: ItemStatus): QueueItem {
  const [item] = applyEvent([], added(id));
  return { ...item, status };
}

describe("controls offered per status", () => {
  it("pause only before the attach, resume only when paused", () => {
    const pausable = ITEM_STATUSES.filter(canPause);
    expect(pausable).toEqual(["queued", "uploading"]);
    expect(ITEM_STATUSES.filter(canResume)).toEqual(["paused"]);
  });

  it("cancel while no Doc may exist yet", () => {
    expect(ITEM_STATUSES.filter(canCancel)).toEqual(["queued", "uploading", "paused"]);
    for (const s of ["attaching", "verifying", "ok", "hash_mismatch"] as const) expect(canCancel(s)).toBe(false);
  });

  it("retry a failed job, send a bad Doc again", () => {
    expect(ITEM_STATUSES.filter(canRetry)).toEqual(["failed"]);
    expect(ITEM_STATUSES.filter((s) => canResend(s))).toEqual(["hash_mismatch", "error"]);
    expect(ITEM_STATUSES.filter((s) => canResend(s, true))).toEqual([]);
  });

  it("every status offers at most one of pause/resume and one of retry/resend", () => {
    for (const s of ITEM_STATUSES) {
      expect(Number(canPause(s)) + Number(canResume(s))).toBeLessThanOrEqual(1);
      expect(Number(canRetry(s)) + Number(canResend(s))).toBeLessThanOrEqual(1);
    }
  });
});

describe("pause, resume, cancel and retry as the reducer sees them", () => {
  it("a paused upload resumes to queued and then moves on", () => {
    let items = applyEvents([], [
      added(1),
      { type: "progress", id: 1, stage: "uploading", bytesDone: 300, bytesTotal: 1000 },
      { type: "state", id: 1, state: "paused" },
    ]);
    expect(items[0].status).toBe("paused");
    // Its next upload starts from zero: the bar says so.
    expect(items[0].bytesDone).toBe(0);
    items = applyEvent(items, { type: "state", id: 1, state: "queued" });
    expect(items[0].status).toBe("queued");
    items = applyEvent(items, { type: "finished", id: 1, docName: "f1.bin", status: "ok", sha256: "ab" });
    expect(items[0].status).toBe("ok");
  });

  it("a failed item put back in the queue moves again, with its error gone", () => {
    const error: ErrorInfo = { code: "auth.forbidden", message: "no", retryable: false };
    let items = applyEvents([], [added(1), { type: "failed", id: 1, error }]);
    items = applyEvent(items, { type: "state", id: 1, state: "queued" });
    expect(items[0]).toMatchObject({ status: "queued", error: null, bytesDone: 0 });
  });

  it("other final items ignore a late state change", () => {
    for (const fin of [
      { type: "finished", id: 1, docName: "a", status: "ok", sha256: "1" },
      { type: "finished", id: 1, docName: "a", status: "hash_mismatch", sha256: "1" },
      { type: "state", id: 1, state: "cancelled" },
    ] as QueueEvent[]) {
      const items = applyEvents([], [added(1), fin]);
      const before = items[0].status;
      expect(applyEvent(items, { type: "state", id: 1, state: "queued" })[0].status).toBe(before);
    }
  });

  it("a cancelled item stays cancelled", () => {
    const items = applyEvents([], [added(1), { type: "state", id: 1, state: "cancelled" }]);
    expect(applyEvent(items, { type: "progress", id: 1, stage: "uploading", bytesDone: 1, bytesTotal: 2 })[0].status).toBe(
      "cancelled",
    );
  });
});

describe("filters", () => {
  it("each status falls under one filter (cancelled only under all)", () => {
    const expected: Record<ItemStatus, string | null> = {
      queued: "active",
      uploading: "active",
      attaching: "active",
      verifying: "active",
      ok: "done",
      skipped: "done",
      hash_mismatch: "failed",
      unverified: "failed",
      error: "failed",
      failed: "failed",
      paused: "paused",
      cancelled: null,
    };
    for (const s of ITEM_STATUSES) {
      expect(filterOf(s)).toBe(expected[s]);
      expect(filterOf(s, true)).toBeNull();
    }
  });

  it("counts and filters a mixed list", () => {
    const statuses: ItemStatus[] = ["queued", "uploading", "ok", "skipped", "failed", "hash_mismatch", "paused", "cancelled"];
    const items = statuses.map((s, i) => withStatus(i + 1, s));
    expect(countByFilter(items)).toEqual({ all: 8, active: 2, done: 2, failed: 2, paused: 1 });
    expect(filterItems(items, "failed").map((i) => i.status)).toEqual(["failed", "hash_mismatch"]);
    expect(filterItems(items, "all")).toBe(items);
    expect(QUEUE_FILTERS).toEqual(["all", "active", "done", "failed", "paused"]);
  });

  it("counts waiting and uploading files as paused while the whole queue is paused", () => {
    const statuses: ItemStatus[] = ["queued", "queued", "uploading", "verifying", "ok", "failed", "paused"];
    const items = statuses.map((s, i) => withStatus(i + 1, s));
    expect(countByFilter(items, true)).toEqual({ all: 7, active: 1, done: 1, failed: 1, paused: 4 });
    expect(filterItems(items, "paused", true).map((i) => i.status)).toEqual(["queued", "queued", "uploading", "paused"]);
    // Resumed: as before.
    expect(countByFilter(items, false)).toEqual({ all: 7, active: 4, done: 1, failed: 1, paused: 1 });
  });
});

describe("virtual window", () => {
  it("renders only the rows in view plus a margin", () => {
    expect(visibleRange(0, 480, 96, 10_000, 4)).toEqual({ start: 0, end: 9 });
    expect(visibleRange(96 * 5000, 480, 96, 10_000, 4)).toEqual({ start: 4996, end: 5009 });
    expect(visibleRange(96 * 9995, 480, 96, 10_000, 4)).toEqual({ start: 9991, end: 10_000 });
  });

  it("keeps the row count bounded by the viewport, whatever the list length", () => {
    for (const count of [1, 10, 1_000, 10_000, 1_000_000]) {
      for (const top of [0, 1234, 96 * 777, 1e9]) {
        const r = visibleRange(top, 600, 96, count, 4);
        expect(r.start).toBeGreaterThanOrEqual(0);
        expect(r.end).toBeLessThanOrEqual(count);
        expect(r.end).toBeGreaterThan(r.start);
        expect(r.end - r.start).toBeLessThanOrEqual(Math.ceil(600 / 96) + 1 + 8);
      }
    }
  });

  it("handles empty lists and odd inputs", () => {
    expect(visibleRange(0, 480, 96, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(-50, 480, 96, 3, 0)).toEqual({ start: 0, end: 3 });
    expect(visibleRange(Number.NaN, Number.NaN, 96, 3, 0)).toEqual({ start: 0, end: 1 });
    expect(visibleRange(0, 480, 0, 3)).toEqual({ start: 0, end: 0 });
  });

  it("scrolls a row into view only when needed", () => {
    expect(scrollToRow(0, 500, 400, 100)).toBe(0);
    expect(scrollToRow(10, 0, 400, 100)).toBe(700);
    expect(scrollToRow(5, 300, 400, 100)).toBe(300);
  });
});

describe("speed and time left", () => {
  it("formats rates and ETAs", () => {
    expect(formatRate(0)).toBe("0 B/s");
    expect(formatRate(2_516_582)).toBe("2.5 MB/s");
    expect(formatRate(null)).toBe("—");
    expect(formatRate(Number.POSITIVE_INFINITY)).toBe("—");
    expect(formatEta(0)).toBe("0:00");
    expect(formatEta(41.2)).toBe("0:42");
    expect(formatEta(725)).toBe("12:05");
    expect(formatEta(3723)).toBe("1:02:03");
    expect(formatEta(null)).toBe("—");
    expect(formatEta(-1)).toBe("—");
  });

  it("takes the queue's figures from its last stats event", () => {
    const stats = (bytesPerSec: number): QueueEvent => ({
      type: "stats",
      bytesPerSec,
      filesPerSec: 0,
      etaSecs: 42,
      bytesDone: 1,
      bytesTotal: 2,
      filesDone: 0,
      filesFailed: 0,
      filesTotal: 1,
      active: 1,
    });
    expect(latestStats([added(1)])).toBeNull();
    const s = latestStats([stats(1), added(2), stats(2_516_582)]);
    expect(s).toEqual({
      bytesPerSec: 2_516_582,
      filesPerSec: 0,
      etaSecs: 42,
      bytesDone: 1,
      bytesTotal: 2,
      filesDone: 0,
      filesFailed: 0,
      filesTotal: 1,
      active: 1,
    });
    expect(statsText(s, false)).toBe("2.5 MB/s · 0:42 left");
    expect(statsText({ ...s!, etaSecs: null }, false)).toBe("2.5 MB/s");
    expect(statsText({ ...s!, active: 0 }, false)).toBe("Idle");
    expect(statsText(null, false)).toBe("Idle");
    // Failures waiting on the user are said, and set the header's tone, until dealt with.
    expect(statsText(null, false, 2)).toBe("Idle · 2 paused");
    expect(statsTone(null, false, 1)).toBe("failed");
    expect(statsTone(null, false, 0)).toBe("idle");
    expect(statsTone(null, true, 1)).toBe("paused");
    expect(statsTone(s, false, 1)).toBe("failed");
    expect(statsTone(s, false, 0)).toBe("moving");
    expect(statsText(s, true)).toBe("Paused");
    expect(statsText({ ...s!, active: 0 }, false, 2)).toBe("Idle · 2 paused");
    expect(statsText(s, false, 2)).toBe("2.5 MB/s · 0:42 left");
    // 10,000 two-byte files: the files per second say how fast it goes, the bytes do not.
    expect(statsText({ ...s!, bytesPerSec: 760, filesPerSec: 380.4 }, false)).toBe("380 files/s · 760 B/s · 0:42 left");
    // Large files: bytes per second alone.
    expect(statsText({ ...s!, bytesPerSec: 50_000_000, filesPerSec: 2 }, false)).toBe("50.0 MB/s · 0:42 left");
  });
});

describe("10,000 items", () => {
  it("a drop of 10,000 files and their whole lives apply in batches within a second", () => {
    const n = 10_000;
    const t0 = performance.now();
    let items: QueueItem[] = applyEvents([], Array.from({ length: n }, (_, i) => added(i + 1)), TWIN);
    // Each file: two progress events and its end, in batches of 500 events as the window gets them.
    const lives: QueueEvent[] = [];
    for (let i = 1; i <= n; i++) {
      lives.push({ type: "progress", id: i, stage: "uploading", bytesDone: 500, bytesTotal: 1000 });
      lives.push({ type: "progress", id: i, stage: "verifying", bytesDone: 1000, bytesTotal: 1000 });
      lives.push({ type: "finished", id: i, docName: `f${i}.bin`, status: i % 100 === 0 ? "hash_mismatch" : "ok", sha256: "ab" });
    }
    for (let at = 0; at < lives.length; at += 500) items = applyEvents(items, lives.slice(at, at + 500), TWIN);
    const ms = performance.now() - t0;
    expect(items).toHaveLength(n);
    expect(items[0].id).toBe(n);
    expect(countByFilter(items)).toEqual({ all: n, active: 0, done: 9_900, failed: 100, paused: 0 });
    expect(ms).toBeLessThan(1000);
    console.log(`10,000 items: ${lives.length + n} events applied in ${ms.toFixed(0)} ms`);
  });

  it("keeps newest first across batches and refreshes duplicates in place", () => {
    let items = applyEvents([], [added(1), added(2)]);
    items = applyEvents(items, [added(3), added(1), added(4), added(3)]);
    expect(items.map((i) => i.id)).toEqual([4, 3, 2, 1]);
  });
});

describe("Twins of items heard on the window's channel", () => {
  it("assigns a Twin to the new jobs only", () => {
    let items = applyEvents([], [added(1), added(2)]);
    items = assignTwin(items, [2], TWIN);
    expect(items.map((i) => i.twin)).toEqual([TWIN, null]);
    expect(assignTwin(items, [2], "other")[0].twin).toBe(TWIN);
  });

  it("knows when a batch settles an upload to the shown Twin", () => {
    const items = applyEvents([], [added(1), added(2)], TWIN);
    const done: QueueEvent = { type: "finished", id: 1, docName: "a", status: "ok", sha256: "1" };
    expect(settlesTwin([done], items, TWIN)).toBe(true);
    expect(settlesTwin([done], items, "other")).toBe(false);
    expect(settlesTwin([done], items, null)).toBe(false);
    expect(settlesTwin([added(3)], items, TWIN)).toBe(false);
  });
});

describe("retrying everything", () => {
  it("counts failed jobs and lists the bad copies not yet sent again", () => {
    const items = [
      withStatus(1, "failed"),
      withStatus(2, "hash_mismatch"),
      withStatus(3, "error"),
      { ...withStatus(4, "hash_mismatch"), resent: true },
      withStatus(5, "ok"),
    ];
    const t = retryTargets(items);
    expect(t.failed).toBe(1);
    expect(t.resend.map((i) => i.id)).toEqual([2, 3]);
  });

  it("marks the bad copies of a Doc as sent again, on that Twin only", () => {
    const items = [
      { ...withStatus(1, "hash_mismatch"), twin: TWIN },
      { ...withStatus(2, "hash_mismatch"), twin: "other" },
      { ...withStatus(3, "ok"), docName: "f1.bin", twin: TWIN },
    ].map((it) => ({ ...it, docName: "f1.bin" }));
    const after = markResent(items, TWIN, "f1.bin");
    expect(after.map((i) => i.resent)).toEqual([true, false, false]);
    expect(after[0].note).toBe("Sent again as a new upload");
    expect(countByFilter(after).failed).toBe(1);
  });
});

describe("catching up with the journal", () => {
  it("asks about moving items only, at most `max` a round, taking turns", () => {
    const items = [withStatus(1, "ok"), ...Array.from({ length: 10 }, (_, i) => withStatus(i + 2, "queued"))];
    expect(catchUpIds(items, 0, 20)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(catchUpIds(items, 0, 4)).toEqual([2, 3, 4, 5]);
    expect(catchUpIds(items, 1, 4)).toEqual([6, 7, 8, 9]);
    expect(catchUpIds(items, 2, 4)).toEqual([10, 11, 2, 3]);
    expect(catchUpIds([withStatus(1, "ok")], 0)).toEqual([]);
  });
});
