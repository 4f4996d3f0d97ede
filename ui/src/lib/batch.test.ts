// The header, the rows and the order of the list, from the engine's one model of the batch
// (its `stats`): no figure of the window is counted on its own.
import { describe, expect, it } from "vitest";
import { applyEvents, batchPercent, batchText, rowProgress, viewOrder, type QueueItem, type QueueStats } from "./queue";
import type { QueueEvent } from "./types";

const stats = (over: Partial<QueueStats> = {}): QueueStats => ({
  bytesPerSec: 568_000,
  filesPerSec: 0,
  etaSecs: 3,
  bytesDone: 2_300_000,
  bytesTotal: 5_600_000,
  filesDone: 237,
  filesFailed: 3,
  filesTotal: 1_005,
  active: 4,
  ...over,
});

const added = (id: number): QueueEvent => ({ type: "added", id, path: `/d/f${id}`, fileName: `f${id}`, docName: `f${id}`, size: 1000 });

describe("the header's headline", () => {
  it("says how far the batch is and keeps failures in view", () => {
    expect(batchText(stats(), false, 3)).toBe("Uploading 237 of 1,005 · 3 failed");
    expect(batchText(stats(), false, 0)).toBe("Uploading 237 of 1,005");
    expect(batchText(stats(), true, 0)).toBe("Paused · 237 of 1,005 done");
    // Settled: failures (from this batch or an earlier one) lead until dealt with.
    expect(batchText(stats({ active: 0, filesDone: 1_002 }), false, 3)).toBe("3 failed · 1,002 of 1,005 done");
    expect(batchText(stats({ active: 0, filesDone: 1_005, filesFailed: 0 }), false, 0)).toBe("Done · 1,005 of 1,005");
    // After "Clear finished" the batch is empty; an older failure still shows.
    const cleared = stats({ active: 0, filesDone: 0, filesFailed: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 });
    expect(batchText(cleared, false, 0)).toBe("Nothing to upload");
    expect(batchText(cleared, false, 1)).toBe("1 failed");
    expect(batchText(null, false, 0)).toBe("Nothing to upload");
  });

  it("fills the overall bar by bytes, or by files when they are small", () => {
    expect(batchPercent(stats())).toBe(41);
    expect(batchPercent(stats({ bytesPerSec: 760, filesPerSec: 380 }))).toBe(23);
    expect(batchPercent(stats({ bytesTotal: 0, bytesDone: 0 }))).toBe(23);
    expect(batchPercent(stats({ filesTotal: 0, bytesTotal: 0, bytesDone: 0 }))).toBe(0);
    expect(batchPercent(null)).toBe(0);
  });
});

describe("a row's figures", () => {
  const row = { bytesDone: 1_000_000, bytesTotal: 4_000_000 };
  it("take the speed and time left from the queue's figures, only when the row is the one moving", () => {
    expect(rowProgress(row, stats(), true)).toBe("1.0 MB of 4.0 MB · 568.0 kB/s · 0:03 left");
    expect(rowProgress(row, stats(), false)).toBe("1.0 MB of 4.0 MB");
    expect(rowProgress(row, stats({ active: 0 }), true)).toBe("1.0 MB of 4.0 MB");
    expect(rowProgress(row, stats({ etaSecs: null }), true)).toBe("1.0 MB of 4.0 MB · 568.0 kB/s");
  });
});

describe("the list's order", () => {
  it("puts moving files and failures first, the queue in its order, the finished last", () => {
    let items: QueueItem[] = applyEvents([], [1, 2, 3, 4, 5, 6, 7].map(added));
    items = applyEvents(items, [
      { type: "finished", id: 1, docName: "f1", status: "ok", sha256: "ab" },
      { type: "progress", id: 2, stage: "uploading", bytesDone: 1, bytesTotal: 1000 },
      { type: "failed", id: 3, error: { code: "file.not_found", message: "gone", retryable: false } },
      { type: "progress", id: 4, stage: "attaching", bytesDone: 1000, bytesTotal: 1000 },
      { type: "state", id: 6, state: "paused" },
      { type: "finished", id: 7, docName: "f7", status: "hash_mismatch", sha256: "cd" },
    ]);
    expect(viewOrder(items).map((it) => it.id)).toEqual([2, 4, 7, 3, 5, 6, 1]);
  });

  it("orders 100,000 items in one pass", () => {
    const many = applyEvents([], Array.from({ length: 100_000 }, (_, i) => added(i + 1)));
    const ordered = viewOrder(many);
    expect(ordered).toHaveLength(100_000);
    // Queued files in the order they will go: the oldest first.
    expect(ordered[0].id).toBe(1);
    expect(ordered[99_999].id).toBe(100_000);
  });
});
