import { describe, expect, it } from "vitest";
import { isGone, locatedText, withoutItem } from "./gone";
import { applyEvents, type QueueItem } from "./queue";

/** A row as the reducer makes it: added, then failed for its missing file (or `over`). */
function item(id: number, over: Partial<QueueItem> = {}): QueueItem {
  const path = `/home/a/f${id}.txt`;
  const [made] = applyEvents(
    [],
    [
      { type: "added", id, path, fileName: `f${id}.txt`, docName: `f${id}.txt`, size: 10 },
      {
        type: "failed",
        id,
        error: { code: "file.not_found", message: `${path}: No such file or directory (os error 2)`, retryable: false },
      },
    ],
  );
  return { ...made, ...over };
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
