import { describe, expect, it } from "vitest";
import { diffFolder, folderForm, folderName, formatIgnore, parseIgnore, statusLabel, templateProblem, type FolderStatus } from "./watched";

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
});
