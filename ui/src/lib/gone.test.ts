import { describe, expect, it } from "vitest";
import { isGone, locatedText, withoutItem } from "./gone";
import type { QueueItem } from "./queue";

function item(id: number, over: Partial<QueueItem> = {}): QueueItem {
  return {
    id,
    twin: null,
    path: `/home/a/f${id}.txt`,
    fileName: `f${id}.txt`,
    docName: `f${id}.txt`,
    size: 10,
    status: "failed",
    bytesDone: 0,
    bytesTotal: 10,
    sha256: null,
    error: { code: "file.not_found", message: `/home/a/f${id}.txt: No such file or directory (os error 2)`, retryable: false },
    note: null,
    speed: null,
    sampleAt: null,
    sampleBytes: 0,
    resent: false,
    ...over,
  };
}

describe("a failed upload whose file is gone", () => {
  it("offers Remove and Locate only when it failed for a missing file", () => {
    expect(isGone(item(1))).toBe(true);
    const refused = { code: "auth.forbidden" as const, message: "no", retryable: false };
    expect(isGone(item(2, { error: refused }))).toBe(false);
    expect(isGone(item(3, { status: "queued", error: null }))).toBe(false);
    expect(isGone(item(4, { status: "failed", error: null }))).toBe(false);
  });

  it("Remove takes the row out of the list, and only it", () => {
    const list = [item(1), item(2), item(3)];
    expect(withoutItem(list, 2).map((it) => it.id)).toEqual([1, 3]);
    expect(list.map((it) => it.id)).toEqual([1, 2, 3]);
    expect(withoutItem(list, 9)).toEqual(list);
  });

  it("says where the Doc will come from", () => {
    expect(locatedText(item(1), "/home/a/moved/f1.txt", true)).toBe("f1.txt will be sent from /home/a/moved/f1.txt.");
    expect(locatedText(item(1), "/x", false)).toBe("f1.txt is no longer failed: nothing to locate.");
  });
});
