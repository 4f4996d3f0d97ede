import { describe, expect, it } from "vitest";
import { folderGroup, folderTone, syncSummary } from "./folderSyncs";
import type { FolderStatus } from "./types";

const folder = (over: Partial<FolderStatus> = {}): FolderStatus => ({
  path: "/home/ana/Scans",
  destination: "5c1f…",
  template: null,
  ignore: [],
  delete: "ignore",
  onConflict: "rename",
  paused: false,
  status: "watching",
  error: null,
  notice: null,
  lastSyncMs: null,
  lastVerified: null,
  files: {
    counts: { inStep: 12, waiting: 0, failed: 0, skipped: 0 },
    recent: [
      { path: "/home/ana/Scans/2026/notes.txt", docName: "Scans/2026/notes.txt", atMs: 2 },
      { path: "/home/ana/Scans/a.pdf", docName: "Scans/a.pdf", atMs: 1 },
    ],
  },
  changesWaiting: null,
  ...over,
});

describe("folder syncs in the Uploads tab", () => {
  it("sums up every folder in one line", () => {
    expect(syncSummary([])).toBeNull();
    expect(syncSummary([folder()])).toBe("1 watched folder");
    const busy = folder({ status: "syncing", files: { counts: { inStep: 1, waiting: 2, failed: 3, skipped: 0 }, recent: [] } });
    const held = folder({ paused: true, status: "paused", changesWaiting: 4 });
    expect(syncSummary([busy, held, folder()])).toBe("3 watched folders · 1 syncing · 3 failed · 4 changes waiting");
  });

  it("groups a folder's figures and the files it sent last under its name", () => {
    const g = folderGroup(folder());
    expect(g.name).toBe("Scans");
    expect(g.line).toBe("Watching · 12 in step");
    expect(g.recent).toEqual([
      { file: "2026/notes.txt", doc: "Scans/2026/notes.txt", atMs: 2 },
      { file: "a.pdf", doc: "Scans/a.pdf", atMs: 1 },
    ]);
    expect(folderGroup(folder({ paused: true, status: "paused", changesWaiting: 1 })).line).toBe(
      "Paused · 12 in step · 1 change waiting",
    );
  });

  it("colours a folder by what needs the user first", () => {
    expect(folderTone(folder())).toBe("ok");
    expect(folderTone(folder({ status: "syncing" }))).toBe("active");
    expect(folderTone(folder({ paused: true, status: "paused" }))).toBe("pending");
    expect(folderTone(folder({ files: { counts: { inStep: 0, waiting: 0, failed: 1, skipped: 0 }, recent: [] } }))).toBe("bad");
  });
});
