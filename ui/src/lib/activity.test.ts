import { describe, expect, it } from "vitest";
import { CATEGORIES, entryError, kindLabel, kindTone, kindsFor, mergeEntries, relativeTime, type ActivityEntry } from "./activity";

const entry = (id: number, over: Partial<ActivityEntry> = {}): ActivityEntry => ({
  id,
  atMs: 1_700_000_000_000 + id,
  kind: "batch_finished",
  message: `entry ${id}`,
  code: null,
  file: null,
  source: null,
  counts: null,
  ...over,
});

describe("relative times", () => {
  const now = Date.UTC(2026, 10, 29, 12, 0, 0);
  it("count up from seconds to days, then give the date", () => {
    expect(relativeTime(null, now)).toBe("never");
    expect(relativeTime(now - 2_000, now)).toBe("just now");
    expect(relativeTime(now + 3_000, now)).toBe("just now");
    expect(relativeTime(now - 42_000, now)).toBe("42 sec. ago");
    expect(relativeTime(now - 5 * 60_000 - 10_000, now)).toBe("5 min. ago");
    expect(relativeTime(now - 3 * 3_600_000, now)).toBe("3 hr. ago");
    expect(relativeTime(now - 30 * 3_600_000, now)).toBe("yesterday");
    expect(relativeTime(now - 4 * 86_400_000, now)).toBe("4 days ago");
    expect(relativeTime(Date.UTC(2026, 0, 2, 12), now)).toBe("2026-01-02");
  });
});

describe("activity entries", () => {
  it("categories pick their kinds", () => {
    expect(kindsFor("all")).toEqual([]);
    expect(kindsFor("failures")).toEqual(["batch_failed", "item_failed", "watched_error"]);
    expect(kindsFor("watched")).toContain("watched_sync");
    for (const c of CATEGORIES) expect(Array.isArray(kindsFor(c))).toBe(true);
  });

  it("labels, tones and errors", () => {
    expect(kindLabel("item_failed")).toBe("File failed");
    expect(kindLabel("from_the_future")).toBe("from_the_future");
    expect(kindTone(entry(1, { kind: "watched_sync", counts: { ok: 1, failed: 1, skipped: 0, cancelled: 0 } }))).toBe("bad");
    expect(kindTone(entry(1, { kind: "watched_sync", counts: { ok: 2, failed: 0, skipped: 0, cancelled: 0 } }))).toBe("ok");
    expect(kindTone(entry(1, { kind: "signed_in" }))).toBe("info");
    expect(entryError(entry(1))).toBeNull();
    expect(entryError(entry(1, { kind: "item_failed", code: "file.not_found", message: "gone" }))).toEqual({
      code: "file.not_found",
      message: "gone",
      retryable: false,
    });
  });

  it("pages merge newest first without duplicates", () => {
    const merged = mergeEntries([entry(9), entry(8)], [entry(8), entry(7), entry(10)]);
    expect(merged.map((e) => e.id)).toEqual([10, 9, 8, 7]);
  });
});
