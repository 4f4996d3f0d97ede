// The "Ready to upload" panel's logic: staged files, their Doc names checked as they are typed,
// the batch's description, and whether the batch can start. Pure: no Svelte, no IPC.
//
// `checkName` mirrors the engine's `naming::check` (crates/engine/src/naming/rules.rs), rule
// for rule and word for word, so a name is answered at each keystroke without a round trip.
// The engine stays the authority: `upload_planned` checks every name again before it queues
// anything. Both sides test themselves against the same cases (naming.fixtures.json), so the
// mirror cannot drift from the engine unnoticed.

import type { NamedFile, NameIssue } from "./types";

/** A finding about a name (`naming::NameIssue`), and one file of a drop with its proposed name
 * as `names_preview` returns it: the types generated from Rust. */
export type { NamedFile, NameIssue } from "./types";

export const STORAGE_CLASSES = [
  { value: "access_optimized", label: "Access optimized" },
  { value: "cost_optimized", label: "Cost optimized" },
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number]["value"];

const SEGMENT_MAX = 32;
const EXTENSION_MAX = 8;
const FOLDERS_MAX = 5;
export const NAME_MAX = FOLDERS_MAX * (SEGMENT_MAX + 1) + SEGMENT_MAX + 1 + EXTENSION_MAX;
export const PUBLISHED_PATTERN = "^([a-zA-Z0-9_-]{1,32}\\/){0,5}([a-zA-Z0-9_-]{1,32})(.[a-zA-Z0-9]{1,8})?$";
// The published `.` as Rust's regex reads it: any one character but a newline (JS's `.` also
// refuses `\r` and the Unicode line separators, and without `u` sees half a surrogate pair).
const PUBLISHED = /^([a-zA-Z0-9_-]{1,32}\/){0,5}([a-zA-Z0-9_-]{1,32})([^\n][a-zA-Z0-9]{1,8})?$/u;
const STRICT = /^([a-zA-Z0-9_-]{1,32}\/){0,5}([a-zA-Z0-9_-]{1,32})(\.[a-zA-Z0-9]{1,8})?$/u;

/** Rust's `{:?}` of one character, for the characters a person types. */
function debugChar(c: string): string {
  return `'${escapeDebug(c, "'")}'`;
}

function debugString(s: string): string {
  return `"${Array.from(s)
    .map((c) => escapeDebug(c, '"'))
    .join("")}"`;
}

function escapeDebug(c: string, quote: string): string {
  switch (c) {
    case "\t":
      return "\\t";
    case "\r":
      return "\\r";
    case "\n":
      return "\\n";
    case "\\":
      return "\\\\";
    case "\0":
      return "\\0";
    case quote:
      return `\\${quote}`;
  }
  // What Rust's `char::escape_debug` spells as a code point: what it does not print (controls,
  // format characters, separators other than the space, unassigned) and combining marks.
  if (c !== " " && /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}\p{Mn}\p{Me}]/u.test(c)) {
    return `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;
  }
  return c;
}

const isNameChar = (c: string) => /^[a-zA-Z0-9_-]$/.test(c);

type Problem = { rule: string; message: string };

function firstProblem(name: string): Problem | null {
  if (name === "") return { rule: "empty", message: "the name is empty" };
  if (name.endsWith("\n") && !name.slice(0, -1).endsWith("\n") && firstProblem(name.slice(0, -1)) === null) {
    return { rule: "trailing_newline", message: "the name ends with a newline" };
  }
  const chars = Array.from(name).length;
  if (chars > NAME_MAX) {
    return { rule: "too_long", message: `the name has ${chars} characters; at most ${NAME_MAX} are allowed` };
  }
  const parts = name.split("/");
  const empty = parts.findIndex((p) => p === "");
  if (empty >= 0) {
    return {
      rule: "empty_segment",
      message: `folders must not be empty (no leading, trailing or double '/'): part ${empty + 1} is empty`,
    };
  }
  if (parts.length > FOLDERS_MAX + 1) {
    return {
      rule: "too_deep",
      message: `at most ${FOLDERS_MAX} folder levels are allowed; this name has ${parts.length - 1}`,
    };
  }
  const last = parts[parts.length - 1];
  const folders = parts.slice(0, -1);
  const bad = (position: number, found: string): Problem => ({
    rule: "bad_character",
    message: `${debugChar(found)} (position ${position}) is not allowed in a folder or base name: letters, digits, '-' and '_' only`,
  });
  const tooLong = (part: number, n: number): Problem => ({
    rule: "segment_too_long",
    message: `part ${part} has ${n} characters; a folder or base name holds at most ${SEGMENT_MAX}`,
  });
  let start = 1;
  for (let i = 0; i < folders.length; i++) {
    const cs = Array.from(folders[i]);
    for (let j = 0; j < cs.length; j++) {
      if (cs[j] === ".") {
        return { rule: "dot_in_folder", message: `'.' (position ${start + j}) is not allowed in a folder name` };
      }
      if (!isNameChar(cs[j])) return bad(start + j, cs[j]);
    }
    if (cs.length > SEGMENT_MAX) return tooLong(i + 1, cs.length);
    start += cs.length + 1;
  }
  const dot = last.indexOf(".");
  const base = dot >= 0 ? last.slice(0, dot) : last;
  const extension = dot >= 0 ? last.slice(dot + 1) : null;
  if (base === "") {
    return {
      rule: "missing_base_name",
      message: "the base name is missing: a name cannot start with '.' (dotfiles such as .env)",
    };
  }
  const bs = Array.from(base);
  for (let j = 0; j < bs.length; j++) {
    if (!isNameChar(bs[j])) return bad(start + j, bs[j]);
  }
  if (bs.length > SEGMENT_MAX) return tooLong(parts.length, bs.length);
  if (extension === null) return null;
  if (extension.includes(".")) {
    return { rule: "multiple_extensions", message: `only one extension is allowed, not ${debugString(`.${extension}`)}` };
  }
  if (extension === "") {
    return {
      rule: "empty_extension",
      message: `the name ends with '.': an extension needs 1-${EXTENSION_MAX} letters or digits`,
    };
  }
  const es = Array.from(extension);
  const extStart = start + bs.length + 1;
  const at = es.findIndex((c) => !/^[a-zA-Z0-9]$/.test(c));
  if (at >= 0) {
    return {
      rule: "extension_character",
      message: `${debugChar(es[at])} (position ${extStart + at}) is not allowed in the extension: it must be 1-${EXTENSION_MAX} letters or digits`,
    };
  }
  if (es.length > EXTENSION_MAX) {
    return {
      rule: "extension_too_long",
      message: `the extension must be 1-${EXTENSION_MAX} letters or digits; this one has ${es.length}`,
    };
  }
  return null;
}

function publishedAccepts(name: string): boolean {
  return PUBLISHED.test(name) || (name.endsWith("\n") && PUBLISHED.test(name.slice(0, -1)));
}

/** Why `name` cannot be a Doc name (the engine's words), or null when it can. */
export function checkName(name: string): NameIssue | null {
  if (STRICT.test(name)) return null;
  const p = firstProblem(name) ?? {
    rule: "pattern",
    message: `it does not match the doc_name pattern ${PUBLISHED_PATTERN}`,
  };
  const note = publishedAccepts(name)
    ? " (the server's published regex would accept it; Twindrop keeps to the strict reading)"
    : "";
  return { code: "doc_name.invalid", rule: p.rule, message: p.message + note };
}

// ---- Staging ----

export type StagedItem = {
  key: number;
  path: string;
  relative: string;
  size: number | null;
  /** The engine's proposal; null when it had none. */
  proposed: string | null;
  /** The name as typed. */
  name: string;
  /** The file itself cannot be sent (unreadable, not a file, an empty folder): remove it. */
  fileProblem: NameIssue | null;
  /** Why the engine had no name for a readable file (a template that gives none). */
  unnamed: NameIssue | null;
  notice: NameIssue | null;
  /** The rule `name` breaks; kept per item so a keystroke re-checks one name, not all. */
  ruleIssue: NameIssue | null;
  /** What blocks the start for this item, after `review`. */
  issue: NameIssue | null;
};

let nextKey = 1;

/** A file problem is one no name can fix: it has no size because it was never read. */
function fromPreview(f: NamedFile): StagedItem {
  const readable = f.size !== null;
  const name = f.name ?? "";
  return {
    key: nextKey++,
    path: f.path,
    relative: f.relative,
    size: f.size,
    proposed: f.name,
    name,
    fileProblem: readable ? null : f.problem,
    unnamed: readable && f.name === null ? f.problem : null,
    notice: f.notice,
    ruleIssue: readable ? checkName(name) : null,
    issue: null,
  };
}

/**
 * Staged items plus the files of a new preview, each path once (a path staged again keeps the
 * name it has), with every item's blocking issue worked out.
 */
export function stage(items: StagedItem[], files: NamedFile[]): StagedItem[] {
  const have = new Set(items.map((i) => i.path));
  const used = new Set(items.filter((i) => !i.fileProblem).map((i) => i.name));
  const added: StagedItem[] = [];
  for (const f of files) {
    if (have.has(f.path)) continue;
    have.add(f.path);
    added.push(numbered(fromPreview(f), used));
  }
  return review(items.concat(added));
}

/**
 * A file of a later drop whose proposed name is already staged gets the first free `name-N`,
 * as the engine numbers files named alike in one drop, and says so.
 */
function numbered(item: StagedItem, used: Set<string>): StagedItem {
  if (item.fileProblem || item.ruleIssue || !used.has(item.name)) {
    used.add(item.name);
    return item;
  }
  let n = 1;
  while (used.has(withSuffix(item.name, n))) n++;
  const name = withSuffix(item.name, n);
  used.add(name);
  const message = `another staged file is also named ${debugString(item.name)}: this one is sent as ${name}`;
  return { ...item, name, proposed: name, notice: { code: "doc_name.renamed", rule: null, message } };
}

/** `name` with `-n` after its base name (shortened to stay within a part), as the engine's `DocName::with_suffix`. */
export function withSuffix(name: string, n: number): string {
  const slash = name.lastIndexOf("/");
  const dir = slash >= 0 ? name.slice(0, slash + 1) : "";
  const last = name.slice(slash + 1);
  const dot = last.indexOf(".");
  const [base, ext] = dot >= 0 ? [last.slice(0, dot), last.slice(dot)] : [last, ""];
  const suffix = `-${n}`;
  return dir + base.slice(0, Math.max(0, SEGMENT_MAX - suffix.length)) + suffix + ext;
}

/**
 * The items after a new preview of the same paths (another template): a name nobody edited takes
 * the new proposal, an edited one stays. Paths not staged (removed since) are not brought back.
 */
export function repropose(items: StagedItem[], files: NamedFile[]): StagedItem[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const next = items.map((i) => {
    const f = byPath.get(i.path);
    if (!f || i.fileProblem) return i;
    const fresh = fromPreview(f);
    const edited = i.name !== (i.proposed ?? "");
    return { ...fresh, key: i.key, name: edited ? i.name : fresh.name, ruleIssue: edited ? i.ruleIssue : fresh.ruleIssue };
  });
  return review(next);
}

/**
 * The same items with their blocking issue: the file's own problem, else the rule the name
 * breaks (the engine's "no name" reason while nothing is typed), else a name given to more
 * than one file. Returns the same array object when nothing changed.
 */
export function review(items: StagedItem[]): StagedItem[] {
  const counts = new Map<string, number>();
  for (const i of items) if (!i.fileProblem) counts.set(i.name, (counts.get(i.name) ?? 0) + 1);
  let changed = false;
  const out = items.map((i) => {
    let issue: NameIssue | null;
    if (i.fileProblem) issue = i.fileProblem;
    else if (i.ruleIssue) issue = i.name === "" && i.unnamed ? i.unnamed : i.ruleIssue;
    else {
      const n = counts.get(i.name) ?? 0;
      issue =
        n > 1
          ? {
              code: "doc_name.duplicate",
              rule: null,
              message: `${n} files of this batch are named ${debugString(i.name)}: each Doc needs a name of its own`,
            }
          : null;
    }
    if (sameIssue(issue, i.issue)) return i;
    changed = true;
    return { ...i, issue };
  });
  return changed ? out : items;
}

function sameIssue(a: NameIssue | null, b: NameIssue | null): boolean {
  return a === b || (a !== null && b !== null && a.code === b.code && a.message === b.message);
}

/** `key` renamed to `name`, all issues reviewed. */
export function rename(items: StagedItem[], key: number, name: string): StagedItem[] {
  if (!items.some((i) => i.key === key && i.name !== name)) return items;
  const next = items.map((i) =>
    i.key === key && i.name !== name ? { ...i, name, ruleIssue: i.fileProblem ? null : checkName(name) } : i,
  );
  return review(next);
}

export function unstage(items: StagedItem[], key: number): StagedItem[] {
  return review(items.filter((i) => i.key !== key));
}

/**
 * The notice to show for an item: the engine's notices (the name is taken by another file, the
 * file is unchanged under this name) are about the proposed name, so an edit retires them.
 */
export function noticeOf(item: StagedItem): NameIssue | null {
  return item.issue === null && item.name === item.proposed ? item.notice : null;
}

/** The items whose name is not the file's own, by the rules or to stay apart from another's:
 * what a person may want to review before the start. */
export function renamed(items: StagedItem[]): StagedItem[] {
  return items.filter((i) => {
    const code = noticeOf(i)?.code;
    return code === "doc_name.sanitized" || code === "doc_name.renamed";
  });
}

/** The items whose name still needs fixing. */
export function blocked(items: StagedItem[]): StagedItem[] {
  return items.filter((i) => i.issue !== null);
}

/** The batch as `upload_planned` takes it. */
export function planned(items: StagedItem[]): { path: string; name: string }[] {
  return items.map((i) => ({ path: i.path, name: i.name }));
}

/**
 * The rows to draw: at most `cap`, in staging order, or only those that need fixing. A drop of
 * 10,000 files must not make 10,000 inputs; the panel says how many are not shown.
 */
export function visible(items: StagedItem[], cap: number, onlyBlocked: Set<number> | null): StagedItem[] {
  const out: StagedItem[] = [];
  for (const i of items) {
    if (out.length >= cap) break;
    if (onlyBlocked === null || onlyBlocked.has(i.key)) out.push(i);
  }
  return out;
}

// ---- Description ----

const KEY = /^[a-z_][0-9a-z_]{0,63}$/;

export type Parsed = { ok: true; value: Record<string, unknown> | null } | { ok: false; message: string };

/**
 * The batch description, typed as a JSON object or as `key: value` lines (a value that reads as
 * JSON is taken as JSON, `count: 3` is a number; anything else is text). Keys follow the
 * server's rule `^[a-z_][0-9a-z_]{0,63}$`. Empty: no description.
 */
export function parseDescription(text: string): Parsed {
  const t = text.trim();
  if (t === "") return { ok: true, value: null };
  let value: Record<string, unknown>;
  if (t.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch (e) {
      return { ok: false, message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return { ok: false, message: "the description must be a JSON object of keys and values" };
    }
    value = parsed as Record<string, unknown>;
  } else {
    value = {};
    const lines = t.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].trim();
      if (line === "") continue;
      const m = /^([^:=]+)[:=](.*)$/.exec(line);
      if (!m) return { ok: false, message: `line ${n + 1}: write key: value` };
      const key = m[1].trim();
      const raw = m[2].trim();
      if (key in value) return { ok: false, message: `line ${n + 1}: the key ${key} is given twice` };
      value[key] = readValue(raw);
    }
  }
  for (const key of Object.keys(value)) {
    if (!KEY.test(key)) {
      return {
        ok: false,
        message: `key ${JSON.stringify(key)}: 1-64 of a-z, 0-9 and _, not starting with a digit`,
      };
    }
  }
  return { ok: true, value: Object.keys(value).length === 0 ? null : value };
}

function readValue(raw: string): unknown {
  if (raw === "") return "";
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
