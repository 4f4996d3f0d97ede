// Pure logic of the Watched folders screen: types, status labels, ignore lists, templates.

import { formatCount } from "./units";
import type { FolderConflicts, FolderFiles, FolderState, FolderStatus, FolderUpdate, RecentFile } from "./types";

// One watched folder as watched_list returns it, and the changes watched_update takes: the
// types generated from Rust.
export type { FolderConflicts, FolderCounts, FolderFiles, FolderState, FolderStatus, FolderUpdate, RecentFile } from "./types";

export const FOLDER_CONFLICT_LABELS: Record<FolderConflicts, string> = {
  rename: "Keep both (name-1.ext)",
  skip: "Skip the file",
};

export const REFRESH_MS = 1500;

export function statusLabel(s: FolderState): string {
  switch (s) {
    case "watching":
      return "Watching";
    case "syncing":
      return "Syncing…";
    case "paused":
      return "Paused";
    case "error":
      return "Error";
  }
}

/** The folder's own name, for the list ("/home/ana/Scans/" → "Scans"). */
export function folderName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p.length > 0);
  return parts.length > 0 ? parts[parts.length - 1] : path;
}

/**
 * A folder's files by their newest job: "12 in step · 3 waiting · 1 failed" (waiting, failed
 * and skipped only when there are some). `null` when the journal knows none of its files.
 */
export function filesLine(files: FolderFiles | null | undefined): string | null {
  if (!files) return null;
  const c = files.counts;
  if (c.inStep + c.waiting + c.failed + c.skipped === 0) return null;
  const parts = [`${formatCount(c.inStep)} in step`];
  if (c.waiting > 0) parts.push(`${formatCount(c.waiting)} waiting`);
  if (c.failed > 0) parts.push(`${formatCount(c.failed)} failed`);
  if (c.skipped > 0) parts.push(`${formatCount(c.skipped)} skipped`);
  return parts.join(" · ");
}

/** A paused folder's changes: "3 changes waiting", "1 change waiting", "no changes waiting";
 * `null` when they were not counted (the folder is not paused). */
export function changesLine(changes: number | null | undefined): string | null {
  if (changes === null || changes === undefined) return null;
  if (changes === 0) return "no changes waiting";
  return `${formatCount(changes)} ${changes === 1 ? "change" : "changes"} waiting`;
}

/** A synced file's path as its folder shows it: relative to the folder ("sub/notes.txt"). */
export function relativeName(folderPath: string, file: RecentFile): string {
  const root = folderPath.replace(/[\\/]+$/, "");
  const path = file.path;
  if (root && path.startsWith(root) && (path[root.length] === "/" || path[root.length] === "\\")) {
    return path.slice(root.length + 1);
  }
  return folderName(path);
}

/** One pattern per line; blank lines and surrounding spaces dropped, duplicates kept once. */
export function parseIgnore(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const p = line.trim();
    if (p && !out.includes(p)) out.push(p);
  }
  return out;
}

export function formatIgnore(patterns: string[]): string {
  return patterns.join("\n");
}

const PLACEHOLDERS = ["dir", "name", "stem", "ext", "path", "hash8"];

/**
 * A first look at a name template, so a typo is shown while typing; the engine checks it
 * again on save. `null` when it looks right (an empty template means names from the path).
 */
export function templateProblem(template: string): string | null {
  const t = template.trim();
  if (!t) return null;
  let depth = 0;
  for (const ch of t) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (depth < 0 || depth > 1) return "Braces do not pair up: each placeholder is one {name}";
  }
  if (depth !== 0) return "A { is not closed";
  for (const m of t.matchAll(/\{([^}]*)\}/g)) {
    const inner = m[1];
    if (inner.startsWith("date:")) {
      if (inner.length === 5) return "{date:…} needs a format, e.g. {date:%Y-%m}";
      continue;
    }
    if (!PLACEHOLDERS.includes(inner)) {
      return `Unknown placeholder {${inner}}: use {dir}, {name}, {stem}, {ext}, {path}, {date:%Y-%m} or {hash8}`;
    }
  }
  return null;
}

/** What would change if the form were saved; `null` when nothing would. */
/** The settings form of a folder. */
export type FolderForm = {
  destination: string;
  template: string;
  ignore: string;
  delete: "ignore" | "mirror";
  onConflict: FolderConflicts;
};

export function folderForm(folder: FolderStatus): FolderForm {
  return {
    destination: folder.destination,
    template: folder.template ?? "",
    ignore: formatIgnore(folder.ignore),
    delete: folder.delete,
    onConflict: folder.onConflict,
  };
}

export function diffFolder(folder: FolderStatus, form: FolderForm): FolderUpdate | null {
  const update: FolderUpdate = {};
  if (form.destination.trim() !== folder.destination) update.destination = form.destination.trim();
  if (form.template.trim() !== (folder.template ?? "")) update.template = form.template.trim();
  const ignore = parseIgnore(form.ignore);
  if (ignore.join("\n") !== folder.ignore.join("\n")) update.ignore = ignore;
  if (form.delete !== folder.delete) update.delete = form.delete;
  if (form.onConflict !== folder.onConflict) update.onConflict = form.onConflict;
  return Object.keys(update).length > 0 ? update : null;
}
