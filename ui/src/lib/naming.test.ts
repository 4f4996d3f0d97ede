import { describe, expect, it } from "vitest";
import fixtures from "./naming.fixtures.json";
import {
  blocked,
  checkName,
  noticeOf,
  renamed,
  parseDescription,
  planned,
  rename,
  repropose,
  review,
  stage,
  withSuffix,
  unstage,
  visible,
  type NamedFile,
} from "./naming";

function file(path: string, name: string | null, extra: Partial<NamedFile> = {}): NamedFile {
  return { path, relative: path.split("/").pop() ?? path, size: 10, name, problem: null, notice: null, ...extra };
}

describe("checkName mirrors the engine", () => {
  it("gives the engine's rule and message for every shared case", () => {
    expect(fixtures.cases.length).toBeGreaterThan(30);
    for (const c of fixtures.cases) {
      const issue = checkName(c.name);
      expect({ name: c.name, rule: issue?.rule ?? null, message: issue?.message ?? null }).toEqual(c);
    }
  });

  it("says which character breaks the rule and where", () => {
    const issue = checkName("scans/my report.pdf");
    expect(issue).toEqual({
      code: "doc_name.invalid",
      rule: "bad_character",
      message: "' ' (position 9) is not allowed in a folder or base name: letters, digits, '-' and '_' only",
    });
    expect(checkName("scans//a")?.message).toContain("double '/'");
    expect(checkName("scans/a.pdf")).toBeNull();
  });
});

describe("staging", () => {
  it("stages each path once and keeps names already edited", () => {
    let items = stage([], [file("/d/a.txt", "a.txt"), file("/d/b.txt", "b.txt")]);
    items = rename(items, items[0].key, "first.txt");
    items = stage(items, [file("/d/a.txt", "a.txt"), file("/d/c.txt", "c.txt")]);
    expect(items.map((i) => [i.path, i.name])).toEqual([
      ["/d/a.txt", "first.txt"],
      ["/d/b.txt", "b.txt"],
      ["/d/c.txt", "c.txt"],
    ]);
    expect(blocked(items)).toEqual([]);
    expect(planned(items)).toEqual([
      { path: "/d/a.txt", name: "first.txt" },
      { path: "/d/b.txt", name: "b.txt" },
      { path: "/d/c.txt", name: "c.txt" },
    ]);
  });

  it("blocks an invalid name with its reason, and fixing it unblocks", () => {
    let items = stage([], [file("/d/a.txt", "a.txt")]);
    const key = items[0].key;
    items = rename(items, key, "a b.txt");
    expect(items[0].issue?.rule).toBe("bad_character");
    expect(blocked(items)).toHaveLength(1);
    items = rename(items, key, "a_b.txt");
    expect(items[0].issue).toBeNull();
    expect(blocked(items)).toHaveLength(0);
  });

  it("numbers a later drop's file whose name is already staged, as the engine does", () => {
    let items = stage([], [file("/d/report.pdf", "report.pdf")]);
    items = stage(items, [file("/e/report.pdf", "report.pdf"), file("/f/report.pdf", "report.pdf")]);
    expect(items.map((i) => i.name)).toEqual(["report.pdf", "report-1.pdf", "report-2.pdf"]);
    expect(items[1].notice?.code).toBe("doc_name.renamed");
    expect(blocked(items)).toEqual([]);
    expect(withSuffix("d/" + "y".repeat(32) + ".txt", 11)).toBe("d/" + "y".repeat(29) + "-11.txt");
    expect(withSuffix("a.tar.gz", 1)).toBe("a-1.tar.gz");
  });

  it("flags names given to two files until one changes", () => {
    let items = stage([], [file("/d/a.txt", "a.txt"), file("/e/b.txt", "b.txt")]);
    items = rename(items, items[1].key, "a.txt");
    expect(items.map((i) => i.issue?.code)).toEqual(["doc_name.duplicate", "doc_name.duplicate"]);
    expect(items[0].issue?.message).toBe('2 files of this batch are named "a.txt": each Doc needs a name of its own');
    items = unstage(items, items[1].key);
    expect(items[0].issue).toBeNull();
  });

  it("keeps an unreadable file blocked whatever its name, and shows why a file has no name", () => {
    const gone = { code: "file.not_found", rule: null, message: "/d/gone: No such file" };
    const noName = { code: "template.invalid", rule: null, message: 'name template "{dir}" gives no name' };
    let items = stage([], [file("/d/gone", null, { size: null, problem: gone }), file("/d/top.txt", null, { problem: noName })]);
    expect(items.map((i) => i.issue)).toEqual([gone, noName]);
    items = rename(items, items[0].key, "fine.txt");
    expect(items[0].issue).toEqual(gone);
    items = rename(items, items[1].key, "top.txt");
    expect(items[1].issue).toBeNull();
    items = rename(items, items[1].key, "");
    expect(items[1].issue).toEqual(noName);
  });

  it("a new template renames what nobody edited and keeps what was", () => {
    let items = stage([], [file("/d/a.txt", "a.txt"), file("/d/b.txt", "b.txt"), file("/d/c.txt", "c.txt")]);
    items = rename(items, items[0].key, "mine.txt");
    items = unstage(items, items[2].key);
    items = repropose(items, [file("/d/a.txt", "x/a.txt"), file("/d/b.txt", "x/b.txt"), file("/d/c.txt", "x/c.txt")]);
    expect(items.map((i) => [i.name, i.proposed])).toEqual([
      ["mine.txt", "x/a.txt"],
      ["x/b.txt", "x/b.txt"],
    ]);
  });

  it("the renamed are the names the rules changed or numbered, until a person edits them", () => {
    const why = { code: "doc_name.sanitized", rule: null, message: "renamed: spaces are not allowed" };
    const numbered = { code: "doc_name.renamed", rule: null, message: "another file of this drop is also named" };
    const taken = { code: "doc_name.taken", rule: null, message: "already sent" };
    let items = stage([], [
      file("/d/my file.txt", "my_file.txt", { notice: why }),
      file("/d/b/my_file.txt", "my_file-1.txt", { notice: numbered }),
      file("/d/a.txt", "a.txt", { notice: taken }),
      file("/d/c.txt", "c.txt"),
    ]);
    expect(renamed(items).map((i) => i.name)).toEqual(["my_file.txt", "my_file-1.txt"]);
    items = rename(items, items[0].key, "my-file.txt");
    expect(renamed(items).map((i) => i.name)).toEqual(["my_file-1.txt"]);
  });

  it("a notice does not block, and goes once the name is edited", () => {
    const taken = { code: "doc_name.taken", rule: null, message: "already sent" };
    let items = stage([], [file("/d/a.txt", "a.txt", { notice: taken })]);
    expect(noticeOf(items[0])).toEqual(taken);
    expect(blocked(items)).toEqual([]);
    items = rename(items, items[0].key, "b.txt");
    expect(noticeOf(items[0])).toBeNull();
    items = rename(items, items[0].key, "a.txt");
    expect(noticeOf(items[0])).toEqual(taken);
  });

  it("returns the same array when a review changes nothing", () => {
    const items = stage([], [file("/d/a.txt", "a.txt")]);
    expect(review(items)).toBe(items);
    expect(rename(items, items[0].key, "a.txt")).toBe(items);
  });

  it("stages 10,000 files quickly and draws only a capped window of them", () => {
    const files = Array.from({ length: 10_000 }, (_, i) => file(`/d/f${i}.txt`, `f${i}.txt`));
    const t0 = performance.now();
    let items = stage([], files);
    items = rename(items, items[9_000].key, "bad name");
    const took = performance.now() - t0;
    expect(items).toHaveLength(10_000);
    expect(took).toBeLessThan(500);
    expect(visible(items, 100, null)).toHaveLength(100);
    const only = new Set(blocked(items).map((i) => i.key));
    expect(visible(items, 100, only).map((i) => i.name)).toEqual(["bad name"]);
  });
});

describe("parseDescription", () => {
  it("reads key: value lines, with JSON values where they parse", () => {
    expect(parseDescription("origin: scanner\ncount: 3\nflag=true\n\nnote: a: b")).toEqual({
      ok: true,
      value: { origin: "scanner", count: 3, flag: true, note: "a: b" },
    });
  });

  it("reads a JSON object", () => {
    expect(parseDescription('{"origin": "scanner", "tags": ["a"]}')).toEqual({
      ok: true,
      value: { origin: "scanner", tags: ["a"] },
    });
  });

  it("treats empty as no description", () => {
    expect(parseDescription("  \n")).toEqual({ ok: true, value: null });
    expect(parseDescription("{}")).toEqual({ ok: true, value: null });
  });

  it("refuses keys the server refuses, and text that is neither form", () => {
    for (const [text, why] of [
      ["Origin: x", 'key "Origin"'],
      ["2nd: x", 'key "2nd"'],
      ["a-b: x", 'key "a-b"'],
      ["just words", "line 1: write key: value"],
      ["a: 1\na: 2", "given twice"],
      ['{"a": ', "not valid JSON"],
      ["[1, 2]", "line 1"],
      ['{"k": 1} extra', "not valid JSON"],
    ]) {
      const parsed = parseDescription(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain(why);
    }
  });
});
