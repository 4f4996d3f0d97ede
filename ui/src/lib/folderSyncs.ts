// The watched folders as the Uploads tab groups them: a summary line for all of them, and per
// folder where its sync stands and the files it sent last. Pure: unit-tested in
// folderSyncs.test.ts. The figures are the Watched tab's own (watched.ts).

import type { FolderStatus } from "./types";
import { changesLine, filesLine, folderName, relativeName, statusLabel } from "./watched";

const count = (n: number) => n.toLocaleString("en-US");

/** "2 watched folders · 1 syncing · 3 failed · 4 changes waiting"; `null` with no folder. */
export function syncSummary(folders: readonly FolderStatus[]): string | null {
  if (folders.length === 0) return null;
  let syncing = 0;
  let failed = 0;
  let changes = 0;
  for (const f of folders) {
    if (!f.paused && f.status === "syncing") syncing++;
    failed += f.files?.counts.failed ?? 0;
    changes += f.paused ? (f.changesWaiting ?? 0) : 0;
  }
  const parts = [`${count(folders.length)} watched folder${folders.length === 1 ? "" : "s"}`];
  if (syncing > 0) parts.push(`${count(syncing)} syncing`);
  if (failed > 0) parts.push(`${count(failed)} failed`);
  if (changes > 0) parts.push(`${count(changes)} change${changes === 1 ? "" : "s"} waiting`);
  return parts.join(" · ");
}

/** One folder's group: its name, its state and figures, and the last files it sent. */
export function folderGroup(f: FolderStatus, most = 3) {
  const figures = [statusLabel(f.paused ? "paused" : f.status), filesLine(f.files), f.paused ? changesLine(f.changesWaiting) : null];
  return {
    name: folderName(f.path),
    line: figures.filter(Boolean).join(" · "),
    tone: folderTone(f),
    recent: (f.files?.recent ?? []).slice(0, most).map((r) => ({ file: relativeName(f.path, r), doc: r.docName, atMs: r.atMs })),
  };
}

/** Failures outrank the rest; then files on their way; a paused folder waits. */
export function folderTone(f: FolderStatus): "bad" | "active" | "pending" | "ok" {
  if ((!f.paused && f.status === "error") || (f.files?.counts.failed ?? 0) > 0) return "bad";
  if (f.paused) return "pending";
  if (f.status === "syncing" || (f.files?.counts.waiting ?? 0) > 0) return "active";
  return "ok";
}
