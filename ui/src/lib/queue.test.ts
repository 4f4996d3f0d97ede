import { describe, expect, it } from "vitest";
import {
  ITEM_STATUSES,
  applyEvent,
  applyEvents,
  badgeTone,
  baseName,
  clearFinished,
  formatBytes,
  formatProgress,
  progressPercent,
  shortId,
  statusLabel,
  summarize,
  summaryText,
  type QueueItem,
} from "./queue";
import { accountLabel, hostOf } from "./session";
import { formatError, normaliseError } from "./api";
import type { ErrorInfo, QueueEvent } from "./types";

const TWIN = "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90";

function added(id: number, over: Partial<Extract<QueueEvent, { type: "added" }>> = {}): QueueEvent {
  return {
    type: "added",
    id,
    path: `/home/u/file${id}.txt`,
    fileName: `file${id}.txt`,
    docName: `file${id}.txt`,
    size: 2048,
    ...over,
  };
}

function only(items: QueueItem[], id: number): QueueItem {
  const found = items.filter((it) => it.id === id);
  expect(found).toHaveLength(1);
  return found[0];
}

describe("applyEvent: added", () => {
  it("adds a queued item with the event's fields and the twin", () => {
    const items = applyEvent([], added(1), TWIN);
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual({
      id: 1,
      twin: TWIN,
      path: "/home/u/file1.txt",
      fileName: "file1.txt",
      docName: "file1.txt",
      size: 2048,
      status: "queued",
      bytesDone: 0,
      bytesTotal: 2048,
      sha256: null,
      error: null,
      note: null,
      resent: false,
    });
  });

  it("puts the newest item first", () => {
    const items = applyEvents([], [added(1), added(2), added(3)]);
    expect(items.map((i) => i.id)).toEqual([3, 2, 1]);
  });

  it("keeps a null docName and size", () => {
    const items = applyEvent([], added(5, { docName: null, size: null }));
    expect(items[0].docName).toBeNull();
    expect(items[0].size).toBeNull();
    expect(items[0].bytesTotal).toBe(0);
  });

  it("falls back to the path's last segment when fileName is empty", () => {
    const items = applyEvent([], added(6, { fileName: "", path: "C:\\Users\\u\\photo.jpg" }));
    expect(items[0].fileName).toBe("photo.jpg");
  });

  it("does not list a duplicate added twice", () => {
    const items = applyEvents([], [added(1), added(1, { docName: "x" })]);
    expect(items).toHaveLength(1);
    expect(items[0].docName).toBe("x");
  });

  it("never mutates its input", () => {
    const before = applyEvent([], added(1));
    const snapshot = structuredClone(before);
    applyEvent(before, { type: "progress", id: 1, stage: "uploading", bytesDone: 1, bytesTotal: 2 });
    applyEvent(before, added(2));
    expect(before).toEqual(snapshot);
  });
});

describe("applyEvent: progress", () => {
  it("moves through the stages with their byte counts", () => {
    let items = applyEvent([], added(1));
    for (const stage of ["uploading", "attaching", "verifying"] as const) {
      items = applyEvent(items, { type: "progress", id: 1, stage, bytesDone: 1024, bytesTotal: 2048 });
      const it1 = only(items, 1);
      expect(it1.status).toBe(stage);
      expect(it1.bytesDone).toBe(1024);
      expect(it1.bytesTotal).toBe(2048);
    }
  });

  it("only touches the item with that id", () => {
    let items = applyEvents([], [added(1), added(2)]);
    items = applyEvent(items, { type: "progress", id: 1, stage: "uploading", bytesDone: 10, bytesTotal: 20 });
    expect(only(items, 1).status).toBe("uploading");
    expect(only(items, 2).status).toBe("queued");
    expect(items.map((i) => i.id)).toEqual([2, 1]);
  });

  it("ignores events for unknown ids", () => {
    const items = applyEvent([], added(1));
    const after = applyEvent(items, { type: "progress", id: 99, stage: "uploading", bytesDone: 1, bytesTotal: 1 });
    expect(after).toEqual(items);
  });

  it("ignores progress after a final status", () => {
    let items = applyEvents([], [
      added(1),
      { type: "finished", id: 1, docName: "d", status: "ok", sha256: "ab" },
    ]);
    items = applyEvent(items, { type: "progress", id: 1, stage: "uploading", bytesDone: 1, bytesTotal: 2048 });
    expect(only(items, 1).status).toBe("ok");
  });
});

describe("applyEvent: finished and failed", () => {
  it("finished ok sets status, docName, sha256 and a full bar", () => {
    const items = applyEvents([], [
      added(1, { docName: null }),
      { type: "progress", id: 1, stage: "verifying", bytesDone: 100, bytesTotal: 2048 },
      { type: "finished", id: 1, docName: "file1.txt", status: "ok", sha256: "deadbeef" },
    ]);
    const it1 = only(items, 1);
    expect(it1.status).toBe("ok");
    expect(it1.docName).toBe("file1.txt");
    expect(it1.sha256).toBe("deadbeef");
    expect(it1.bytesDone).toBe(2048);
    expect(progressPercent(it1)).toBe(100);
  });

  it("finished hash_mismatch and error keep their status", () => {
    const items = applyEvents([], [
      added(1),
      added(2),
      { type: "finished", id: 1, docName: "a", status: "hash_mismatch", sha256: "00" },
      { type: "finished", id: 2, docName: "b", status: "error", sha256: "" },
    ]);
    expect(only(items, 1).status).toBe("hash_mismatch");
    expect(only(items, 2).status).toBe("error");
    expect(only(items, 2).sha256).toBeNull();
  });

  it("a Doc status the UI does not know shows as an error", () => {
    const items = applyEvents([], [added(1), { type: "finished", id: 1, docName: "a", status: "frozen", sha256: "00" }]);
    expect(only(items, 1).status).toBe("error");
  });

  it("failed stores the error and the other items carry on", () => {
    const error: ErrorInfo = { code: "file.unreadable", message: "Permission denied", retryable: false };
    const items = applyEvents([], [
      added(1),
      added(2),
      { type: "progress", id: 2, stage: "uploading", bytesDone: 5, bytesTotal: 10 },
      { type: "failed", id: 1, error },
      { type: "progress", id: 2, stage: "attaching", bytesDone: 10, bytesTotal: 10 },
    ]);
    expect(only(items, 1).status).toBe("failed");
    expect(only(items, 1).error).toEqual(error);
    expect(only(items, 2).status).toBe("attaching");
  });
});

describe("statuses", () => {
  it("every status the reducer produces is a data-status value", () => {
    const error: ErrorInfo = { code: "server.error", message: "m", retryable: true };
    const produced = new Set<string>();
    let items = applyEvents([], [added(1), added(2), added(3), added(4), added(5), added(6), added(7), added(8), added(9)]);
    produced.add(only(items, 1).status);
    for (const stage of ["uploading", "attaching", "verifying"] as const) {
      items = applyEvent(items, { type: "progress", id: 1, stage, bytesDone: 0, bytesTotal: 1 });
      produced.add(only(items, 1).status);
    }
    items = applyEvents(items, [
      { type: "finished", id: 2, docName: "a", status: "ok", sha256: "1" },
      { type: "finished", id: 3, docName: "b", status: "hash_mismatch", sha256: "2" },
      { type: "finished", id: 4, docName: "c", status: "error", sha256: "3" },
      { type: "failed", id: 5, error },
      { type: "skipped", id: 6, docName: "f", reason: "unchanged" },
      { type: "state", id: 7, state: "paused" },
      { type: "state", id: 8, state: "cancelled" },
      { type: "finished", id: 9, docName: "g", status: "unverified", sha256: "4" },
    ]);
    for (const id of [2, 3, 4, 5, 6, 7, 8, 9]) produced.add(only(items, id).status);
    expect([...produced].sort()).toEqual([...ITEM_STATUSES].sort());
    expect(ITEM_STATUSES).toEqual([
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
    ]);
  });

  it("skips, renames, retries and pauses show on the item", () => {
    const error: ErrorInfo = { code: "server.error", message: "m", retryable: true };
    let items = applyEvents([], [added(1)]);
    items = applyEvent(items, { type: "retrying", id: 1, error, waitMs: 1500 });
    expect(only(items, 1).note).toBe("retrying in 2 s: server.error");
    items = applyEvent(items, { type: "renamed", id: 1, docName: "a-1.txt" });
    expect(only(items, 1).docName).toBe("a-1.txt");
    items = applyEvent(items, { type: "state", id: 1, state: "paused" });
    expect(only(items, 1).status).toBe("paused");
    items = applyEvent(items, { type: "skipped", id: 1, docName: "a-1.txt", reason: "unchanged" });
    expect(only(items, 1).status).toBe("skipped");
    expect(only(items, 1).note).toBe("unchanged");
    // A final item ignores late state changes and retries.
    items = applyEvent(items, { type: "state", id: 1, state: "queued" });
    expect(only(items, 1).status).toBe("skipped");
    expect(applyEvent(items, { type: "stats", bytesPerSec: 1, filesPerSec: 0, etaSecs: null, bytesDone: 0, bytesTotal: 0, filesDone: 0, filesFailed: 0, filesTotal: 0, active: 0 })).toEqual(items);
  });

  it("a state the engine does not send as `state` changes nothing", () => {
    const items = applyEvents([], [added(1), { type: "progress", id: 1, stage: "uploading", bytesDone: 1, bytesTotal: 2 }]);
    for (const state of ["hashing", "uploading", "done", "failed", "skipped"] as const) {
      expect(applyEvent(items, { type: "state", id: 1, state })).toEqual(items);
    }
  });

  it("maps statuses to badge colours", () => {
    expect(badgeTone("ok")).toBe("ok");
    expect(badgeTone("hash_mismatch")).toBe("bad");
    expect(badgeTone("error")).toBe("bad");
    expect(badgeTone("failed")).toBe("bad");
    for (const s of ["uploading", "attaching", "verifying"] as const) expect(badgeTone(s)).toBe("active");
    expect(badgeTone("queued")).toBe("pending");
    for (const s of ITEM_STATUSES) expect(statusLabel(s)).toMatch(/\S/);
  });

  it("never shows an unverified delivery as ok", () => {
    const sha256 = "0".repeat(64);
    const items = applyEvents([], [added(1), { type: "finished", id: 1, docName: "a", status: "unverified", sha256 }]);
    expect(items[0].status).toBe("unverified");
    expect(statusLabel("unverified")).toContain("unverified");
    expect(badgeTone("unverified")).toBe("bad");
  });

  it("summarises ok / failed / active", () => {
    const items = applyEvents([], [
      added(1),
      added(2),
      added(3),
      added(4),
      { type: "finished", id: 1, docName: "a", status: "ok", sha256: "1" },
      { type: "finished", id: 2, docName: "b", status: "ok", sha256: "1" },
      { type: "failed", id: 3, error: { code: "internal.error", message: "m", retryable: false } },
    ]);
    const s = summarize(items);
    expect(s).toEqual({ ok: 2, skipped: 0, failed: 1, active: 1, total: 4 });
    expect(summaryText(s)).toBe("2 ok · 1 failed · 1 active");
    expect(clearFinished(items).map((i) => i.id)).toEqual([4]);
  });
});

describe("formatting", () => {
  it("formats sizes for humans", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1)).toBe("1 B");
    // Decimal units, as GNOME and macOS show sizes (units.ts; units.test.ts pins the rest).
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(1536)).toBe("1.5 kB");
    expect(formatBytes(48_213)).toBe("48.2 kB");
    expect(formatBytes(999_999)).toBe("1.0 MB");
    expect(formatBytes(2_483_027)).toBe("2.5 MB");
    expect(formatBytes(734_003_200)).toBe("734.0 MB");
    expect(formatBytes(5 * 1000 ** 3)).toBe("5.0 GB");
    expect(formatBytes(3.25 * 1000 ** 4)).toBe("3.3 TB");
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });

  it("computes progress percent safely", () => {
    expect(progressPercent({ status: "uploading", bytesDone: 50, bytesTotal: 200 })).toBe(25);
    expect(progressPercent({ status: "uploading", bytesDone: 5, bytesTotal: 0 })).toBe(0);
    expect(progressPercent({ status: "uploading", bytesDone: 500, bytesTotal: 200 })).toBe(100);
    expect(progressPercent({ status: "ok", bytesDone: 0, bytesTotal: 0 })).toBe(100);
    expect(formatProgress(512, 2048)).toBe("512 B of 2.0 kB");
  });

  it("shortens ids and paths", () => {
    expect(shortId(TWIN)).toBe("3c9f2a71…8a90");
    expect(shortId("short")).toBe("short");
    expect(baseName("/a/b/c.txt")).toBe("c.txt");
    expect(baseName("C:\\x\\y.pdf")).toBe("y.pdf");
  });

  it("labels the account", () => {
    const none = { profile: null, destination: null, unproven: null };
    expect(accountLabel({ kind: "sandbox", baseUrl: "http://127.0.0.1:1", account: "sandbox", ...none })).toBe(
      "Local sandbox",
    );
    expect(
      accountLabel({
        kind: "trusted_twin",
        baseUrl: "https://rest.trustedtwin.com",
        account: "5e1d0a4c-77b2-4b9e-a3f0-1c2d3e4f5a6b",
        ...none,
      }),
    ).toBe("rest.trustedtwin.com · 5e1d0a4c…5a6b");
    expect(
      accountLabel({
        kind: "redivis",
        baseUrl: "https://redivis.com",
        account: "table a.b.c",
        profile: "redivis-redivis.com",
        destination: "a.b.c",
        unproven: null,
      }),
    ).toBe("Redivis · redivis.com · table a.b.c");
    expect(hostOf("not a url/x")).toBe("not a url");
  });
});

describe("errors", () => {
  it("normalises what a command may reject with", () => {
    expect(normaliseError({ code: "auth.unauthorized", message: "The server refused the secret", retryable: false })).toEqual(
      { code: "auth.unauthorized", message: "The server refused the secret", retryable: false },
    );
    expect(normaliseError('{"code":"twin.not_found","message":"gone","retryable":true}')).toEqual({
      code: "twin.not_found",
      message: "gone",
      retryable: true,
    });
    expect(normaliseError("boom").code).toBe("app.error");
    expect(normaliseError(new Error("bad")).code).toBe("ui.exception");
    expect(formatError({ code: "auth.unauthorized", message: "The server refused the secret", retryable: false })).toBe(
      "auth.unauthorized — The server refused the secret",
    );
  });
});
