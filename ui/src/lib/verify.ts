// Pure logic of the Verify view: the groups and their labels, the virtual list of group
// headers and rows (rows are read from the engine a screenful at a time), progress and status
// lines, the receipt's file name. No Svelte, no Tauri: unit-tested in verify.test.ts.

import { localTime, relativeTime } from "./when";
import { formatBytes, formatCount } from "./units";
import type { BadgeTone } from "./queue";
import type {
  LastVerification,
  Verdict,
  VerdictGroup,
  VerifyCounts,
  VerifyProgress,
  VerifyRow,
  VerifyView,
} from "./types";

export type { LastVerification, Verdict, VerdictGroup, VerifyCounts, VerifyProgress, VerifyRow, VerifyView };

/** The groups as the list shows them, differences first (the engine's order of the rows). */
export const VERDICTS: readonly Verdict[] = ["differs", "not_ok", "not_on_server", "unreadable", "only_on_server", "match"];

const LABELS: Record<Verdict, string> = {
  differs: "Differs",
  not_ok: "Not ok on the server",
  not_on_server: "Not on the server",
  unreadable: "Unreadable here",
  only_on_server: "Only on the server",
  match: "Match",
};

const HELP: Record<Verdict, string> = {
  differs: "The server holds other bytes under these names.",
  not_ok: "On the server, but its copy is not ok or has no hash: nothing vouches for its bytes.",
  not_on_server: "No Doc of these names on the server.",
  unreadable: "These files could not be read or named here, so nothing was compared.",
  only_on_server: "Docs no file of this folder maps to.",
  match: "The server holds these very bytes, and says ok.",
};

export function verdictLabel(v: Verdict): string {
  return LABELS[v];
}

const SHORT: Record<Verdict, string> = {
  differs: "Differs",
  not_ok: "Not ok",
  not_on_server: "Not on server",
  unreadable: "Unreadable",
  only_on_server: "Only on server",
  match: "Match",
};

/** A group's chip: short enough for all of them to fit on one line of the smallest window. */
export function chipLabel(v: Verdict): string {
  return SHORT[v];
}

export function verdictHelp(v: Verdict): string {
  return HELP[v];
}

export function verdictTone(v: Verdict): BadgeTone {
  switch (v) {
    case "match":
      return "ok";
    case "differs":
    case "not_ok":
    case "unreadable":
      return "bad";
    case "not_on_server":
      return "active";
    case "only_on_server":
      return "pending";
  }
}

const KEYS: Record<Verdict, keyof VerifyCounts> = {
  match: "match",
  differs: "differs",
  not_on_server: "notOnServer",
  only_on_server: "onlyOnServer",
  not_ok: "notOk",
  unreadable: "unreadable",
};

export function countOf(counts: VerifyCounts, v: Verdict): number {
  return counts[KEYS[v]];
}

/** The groups shown with their counts: all five always, "unreadable" only when some are. */
export function chips(counts: VerifyCounts): { verdict: Verdict; count: number }[] {
  return VERDICTS.filter((v) => v !== "unreadable" || counts.unreadable > 0).map((verdict) => ({
    verdict,
    count: countOf(counts, verdict),
  }));
}

/** "In step: 12 files match" or "3 differ · 1 not on the server · 12 match". */
export function verifySummary(counts: VerifyCounts, inStep: boolean): string {
  const n = formatCount;
  if (inStep) {
    return counts.match === 0 ? "Nothing to compare" : `In step: ${n(counts.match)} ${counts.match === 1 ? "file matches" : "files match"}`;
  }
  const said: Record<Verdict, (c: number) => string> = {
    differs: (c) => `${n(c)} ${c === 1 ? "differs" : "differ"}`,
    not_ok: (c) => `${n(c)} not ok`,
    not_on_server: (c) => `${n(c)} not on the server`,
    unreadable: (c) => `${n(c)} unreadable`,
    only_on_server: (c) => `${n(c)} only on the server`,
    match: (c) => `${n(c)} match`,
  };
  return VERDICTS.filter((v) => countOf(counts, v) > 0)
    .map((v) => said[v](countOf(counts, v)))
    .join(" · ");
}

// ---- The virtual list: one header item per non-empty group, then its rows ----------------

/** An item of the list: a group's header, or the row at `index` of the engine's order. */
export type Item = { kind: "header"; verdict: Verdict; count: number } | { kind: "row"; verdict: Verdict; index: number };

/** Where each group sits in the list: its header's item index and its rows. */
export type Layout = { groups: { verdict: Verdict; item: number; start: number; count: number }[]; items: number };

export function layout(groups: readonly VerdictGroup[]): Layout {
  let item = 0;
  const out: Layout["groups"] = [];
  for (const g of groups) {
    if (g.count <= 0) continue;
    out.push({ verdict: g.verdict, item, start: g.start, count: g.count });
    item += g.count + 1;
  }
  return { groups: out, items: item };
}

export function itemAt(l: Layout, i: number): Item | null {
  for (const g of l.groups) {
    if (i === g.item) return { kind: "header", verdict: g.verdict, count: g.count };
    if (i > g.item && i <= g.item + g.count) return { kind: "row", verdict: g.verdict, index: g.start + (i - g.item - 1) };
  }
  return null;
}

/** The list item of row `index` (for keyboard moves and scrolling to it). */
export function itemOfRow(l: Layout, index: number): number {
  for (const g of l.groups) {
    if (index >= g.start && index < g.start + g.count) return g.item + 1 + (index - g.start);
  }
  return -1;
}

/** The header item of a group (for its chip: scroll there); -1 when the group is empty. */
export function itemOfGroup(l: Layout, verdict: Verdict): number {
  return l.groups.find((g) => g.verdict === verdict)?.item ?? -1;
}

/** The most rows one `verify_rows` call asks for (the engine gives up to 500). */
export const ROWS_BATCH = 400;

/**
 * The rows to read for the items `start..end` in view: one contiguous range covering those not
 * read yet, at most ROWS_BATCH long; `null` when all are there.
 */
export function rowsToRead(
  items: readonly Item[],
  have: ReadonlyMap<number, unknown>,
): { start: number; end: number } | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const it of items) {
    if (it.kind === "row" && !have.has(it.index)) {
      lo = Math.min(lo, it.index);
      hi = Math.max(hi, it.index);
    }
  }
  if (lo === Infinity) return null;
  return { start: lo, end: Math.min(hi + 1, lo + ROWS_BATCH) };
}

// ---- Lines ---------------------------------------------------------------------------------

/** "Reading 12 of 40 files · 1.2 MB of 3.4 MB"; before the count is known, "Listing files…". */
export function progressLine(p: VerifyProgress | null): string {
  if (!p || p.files === 0) return "Listing files and reading the server…";
  return `Reading ${formatCount(p.filesDone)} of ${formatCount(p.files)} ${p.files === 1 ? "file" : "files"} · ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytes)}`;
}

/** How far, 0..1, by bytes (a folder of one big file moves too). */
export function progressFraction(p: VerifyProgress | null): number {
  if (!p) return 0;
  if (p.bytes > 0) return Math.min(1, p.bytesDone / p.bytes);
  return p.files > 0 ? Math.min(1, p.filesDone / p.files) : 0;
}

/** A watched folder's status line: "verified 5 min. ago · in step" or "… · not in step";
 * nothing when never. What was off is in `verifiedDetail`: the line stays short enough for
 * the list's narrow column. */
export function verifiedLine(last: LastVerification | null | undefined, now: number): string | null {
  if (!last) return null;
  const when = last.at === null ? "verified" : `verified ${relativeTime(last.at * 1000, now)}`;
  return `${when} · ${last.inStep ? "in step" : "not in step"}`;
}

/** The same verification in full, for the folder's details: "Last verified 2026-05-04
 * 14:03:12: 9 match, 3 differs" (the counts as the engine says them). */
export function verifiedDetail(last: LastVerification | null | undefined): string | null {
  if (!last) return null;
  const at = last.at === null ? "" : ` ${localTime(last.at * 1000)}`;
  return `Last verified${at}: ${last.summary}${last.inStep ? " (in step)" : ""}`;
}

/** The local and server sides of a row, for its details: "12.4 kB · sha256 1a2b3c4d5e6f…". */
export function sideLine(size: number | null | undefined, digest: string | null | undefined, algorithm: string): string {
  const parts: string[] = [];
  if (size !== null && size !== undefined) parts.push(formatBytes(size));
  if (digest) parts.push(`${algorithm} ${digest.length > 16 ? `${digest.slice(0, 16)}…` : digest}`);
  return parts.length > 0 ? parts.join(" · ") : "—";
}

/** The local digest a row is compared by (MD5 for a service that records MD5). */
export function localDigest(row: VerifyRow, algorithm: string): string | null {
  if (!row.local) return null;
  return algorithm === "md5" ? row.local.md5 : row.local.sha256;
}

/** The receipt's suggested file name: "twindrop-receipt-Scans-2026-05-04-1403.json". */
export function receiptName(subject: string, checkedAtSecs: number | null, now: number): string {
  const safe = subject.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(0, 40) || "verify";
  const d = new Date(checkedAtSecs === null ? now : checkedAtSecs * 1000);
  const two = (x: number) => String(x).padStart(2, "0");
  const stamp = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}`;
  return `twindrop-receipt-${safe}-${stamp}.json`;
}

/** What "Send again" did, said: "3 files queued again", with the ignored ones left out. */
export function sentLine(queued: number, ignored: number, folder: boolean): string {
  const where = folder ? "through the folder's sync" : "see them under Uploads";
  const files = `${formatCount(queued)} ${queued === 1 ? "file" : "files"}`;
  const base = queued > 0 ? `${files} queued again (${where}).` : "Nothing was queued.";
  if (ignored === 0) return base;
  return `${base} ${formatCount(ignored)} the folder ignores ${ignored === 1 ? "was" : "were"} left out.`;
}
