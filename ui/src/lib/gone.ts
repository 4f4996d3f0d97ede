// A failed upload whose file is gone: Retry would fail the same way, so its row offers Remove
// (forget it) and Locate… (pick the file's new place). Pure, tested in gone.test.ts.

import type { QueueItem } from "./queue";

/** The code of a job whose file was not found. */
export const GONE = "file.not_found";

/** Whether the row offers Remove and Locate… beside Retry. */
export function isGone(item: Pick<QueueItem, "status" | "error">): boolean {
  return item.status === "failed" && item.error?.code === GONE;
}

/** The list without the removed job, as a new list (the input is never changed). */
export function withoutItem<T extends { id: number }>(items: readonly T[], id: number): T[] {
  return items.filter((it) => it.id !== id);
}

/** What the window says once a job was pointed at its file's new place, or why not. */
export function locatedText(item: Pick<QueueItem, "docName" | "fileName">, path: string, moved: boolean): string {
  const doc = item.docName ?? item.fileName;
  return moved ? `${doc} will be sent from ${path}.` : `${item.fileName} is no longer failed: nothing to locate.`;
}
