// Pure logic of the Activity screen: the entry types, filter categories, labels and times.

import { localTime, relativeTime } from "./when";
import type { ActivityEntry, ActivityKind, ApiError } from "./types";

// The entries of activity_list (newest first) and its filter: the types generated from Rust.
export type { ActivityCounts, ActivityEntry, ActivityFilter, ActivityKind } from "./types";

export const CATEGORIES = ["all", "uploads", "failures", "watched", "account"] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_LABELS: Record<Category, string> = {
  all: "All",
  uploads: "Uploads",
  failures: "Failures",
  watched: "Watched folders",
  account: "Account & pauses",
};

/** The kinds a category shows (all kinds for "all": an empty list). */
export function kindsFor(category: Category): ActivityKind[] {
  switch (category) {
    case "all":
      return [];
    case "uploads":
      return ["batch_finished", "batch_failed", "conflict"];
    case "failures":
      return ["batch_failed", "item_failed", "watched_error"];
    case "watched":
      return ["watched_sync", "watched_error", "watched_notice"];
    case "account":
      return ["signed_in", "signed_out", "paused", "resumed"];
  }
}

const KIND_LABELS: Record<ActivityKind, string> = {
  batch_finished: "Batch finished",
  batch_failed: "Batch with failures",
  item_failed: "File failed",
  conflict: "Name conflict",
  watched_sync: "Folder synced",
  watched_error: "Folder stopped",
  watched_notice: "Folder notice",
  paused: "Paused",
  resumed: "Resumed",
  signed_in: "Signed in",
  signed_out: "Signed out",
};

export function kindLabel(kind: ActivityKind | string): string {
  return KIND_LABELS[kind as ActivityKind] ?? kind;
}

export type Tone = "ok" | "bad" | "info" | "muted";

export function kindTone(entry: Pick<ActivityEntry, "kind" | "counts">): Tone {
  switch (entry.kind) {
    case "batch_failed":
    case "item_failed":
    case "watched_error":
      return "bad";
    case "batch_finished":
      return "ok";
    case "watched_sync":
      return entry.counts && entry.counts.failed > 0 ? "bad" : "ok";
    case "paused":
    case "signed_out":
      return "muted";
    default:
      return "info";
  }
}

/** The entry's error as the app shows every error: `code — message`. */
export function entryError(entry: ActivityEntry): ApiError | null {
  return entry.code ? { code: entry.code, message: entry.message, retryable: false } : null;
}

/** Full local time for a tooltip: "2026-11-29 23:04:05". */
export function absoluteTime(ms: number): string {
  return localTime(ms);
}

export { relativeTime };

/** Newer entries first, no duplicates, when a page of older ones (or a refresh) arrives. */
export function mergeEntries(current: ActivityEntry[], incoming: ActivityEntry[]): ActivityEntry[] {
  const byId = new Map<number, ActivityEntry>();
  for (const e of current) byId.set(e.id, e);
  for (const e of incoming) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}
