import { describe, expect, it } from "vitest";
import {
  changesLine,
  diffFolder,
  filesLine,
  folderForm,
  folderName,
  formatIgnore,
  parseIgnore,
  relativeName,
  statusLabel,
  templateProblem,
  type FolderStatus,
} from "./watched";

const folder: FolderStatus = {
  path: "/home/ana/Scans",
  destination: "1e7a8c4d-0000-4000-8000-0000000090ab",
  template: null,
  ignore: ["*.log"],
  delete: "ignore",
  onConflict: "rename",
  paused: false,
  status: "watching",
  error: null,
  notice: null,
  lastSyncMs: null,
  lastVerified: null,
  files: null,
  changesWaiting: null,
};

describe("watched folders", () => {
  it("names and statuses", () => {
    expect(folderName("/home/ana/Scans/")).toBe("Scans");
    expect(folderName("C:\\Users\\ana\\Docs")).toBe("Docs");
    expect(statusLabel("syncing")).toBe("Syncing…");
    expect(statusLabel("error")).toBe("Error");
  });

  it("ignore patterns are one per line", () => {
    expect(parseIgnore(" *.log \n\n*.tmp\r\n*.log\n")).toEqual(["*.log", "*.tmp"]);
    expect(formatIgnore(["a", "b/"])).toBe("a\nb/");
    expect(parseIgnore(formatIgnore(["x/", "*.bak"]))).toEqual(["x/", "*.bak"]);
  });

  it("templates: a typo is named before saving", () => {
    expect(templateProblem("")).toBeNull();
    expect(templateProblem("{dir}/{stem}.{ext}")).toBeNull();
    expect(templateProblem("{date:%Y-%m}/{name}")).toBeNull();
    expect(templateProblem("{nme}")).toBe(
      "Unknown placeholder {nme}: use {dir}, {name}, {stem}, {ext}, {path}, {date:%Y-%m} or {hash8}",
    );
    expect(templateProblem("{name")).toBe("A { is not closed");
    expect(templateProblem("name}")).toMatch(/Braces/);
    expect(templateProblem("{date:}")).toMatch(/needs a format/);
  });

  it("saves only what changed", () => {
    const same = { ...folderForm(folder), ignore: "*.log\n" };
    expect(diffFolder(folder, same)).toBeNull();
    expect(diffFolder(folder, { ...same, delete: "mirror" })).toEqual({ delete: "mirror" });
    expect(diffFolder(folder, { ...same, onConflict: "skip" })).toEqual({ onConflict: "skip" });
    expect(diffFolder(folder, { ...same, template: " in/{name} " })).toEqual({ template: "in/{name}" });
    expect(diffFolder(folder, { ...same, ignore: "*.log\n*.tmp" })).toEqual({ ignore: ["*.log", "*.tmp"] });
    expect(diffFolder({ ...folder, template: "x/{name}" }, { ...same, template: "" })).toEqual({ template: "" });
  });

  it("files by their newest job: in step always, the rest when there are some", () => {
    const counts = { inStep: 0, waiting: 0, failed: 0, skipped: 0 };
    expect(filesLine(null)).toBeNull();
    expect(filesLine({ counts, recent: [] })).toBeNull();
    expect(filesLine({ counts: { ...counts, inStep: 2 }, recent: [] })).toBe("2 in step");
    expect(filesLine({ counts: { ...counts, waiting: 3 }, recent: [] })).toBe("0 in step · 3 waiting");
    expect(filesLine({ counts: { inStep: 10005, waiting: 3, failed: 1, skipped: 2 }, recent: [] })).toBe(
      "10,005 in step · 3 waiting · 1 failed · 2 skipped",
    );
  });

  it("a paused folder's changes", () => {
    expect(changesLine(null)).toBeNull();
    expect(changesLine(undefined)).toBeNull();
    expect(changesLine(0)).toBe("no changes waiting");
    expect(changesLine(1)).toBe("1 change waiting");
    expect(changesLine(1200)).toBe("1,200 changes waiting");
  });

  it("a synced file is named from its folder", () => {
    const file = (path: string) => ({ path, docName: "x", atMs: 0 });
    expect(relativeName("/home/ana/Scans", file("/home/ana/Scans/sub/a b.txt"))).toBe("sub/a b.txt");
    expect(relativeName("/home/ana/Scans/", file("/home/ana/Scans/a.txt"))).toBe("a.txt");
    // A folder whose name starts the same is another folder.
    expect(relativeName("/home/ana/Scans", file("/home/ana/Scans2/a.txt"))).toBe("a.txt");
    expect(relativeName("C:\\Users\\ana\\Docs", file("C:\\Users\\ana\\Docs\\q.pdf"))).toBe("q.pdf");
  });
});
