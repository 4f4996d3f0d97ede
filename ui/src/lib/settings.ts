// Pure logic of the Settings screen: preferences, and the bandwidth limit with its weekly
// schedule in the engine's syntax ("10M", or "Mon-08:00,512k 19:00,10M 23:00,off").

import { noProxyProblem, proxyUrlProblem, userProblem } from "./proxy";
import type { ConflictPolicy, ProxyPrefs } from "./types";
import { formatRate } from "./units";

/** The app's preferences as prefs_get / prefs_set carry them (generated from Rust). */
export type { ConflictPolicy, Prefs } from "./types";

export const MAX_PARALLEL = 16;
export const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** One line of the schedule: from `time` (on `day`, or every day when ""), `rate` applies. */
export type Slot = { day: string; time: string; rate: string };
export type BandwidthMode = "off" | "always" | "schedule";
export type Bandwidth = { mode: BandwidthMode; rate: string; slots: Slot[] };

// The engine's size parser (`twindrop_engine::size`, through `bandwidth`'s rates), as the form
// checks each keystroke: rates.fixtures.json holds both to the same answers.
const RATE_RE = /^(\d+\.?\d*|\.\d+)\s*([a-z]*)(?:\/s)?$/i;
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** Bytes per second, `null` for "off", `undefined` when it is not a rate. */
export function parseRate(text: string): number | null | undefined {
  const t = text.trim();
  if (t.toLowerCase() === "off") return null;
  const m = RATE_RE.exec(t);
  const scale = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || scale === undefined) return undefined;
  const v = Math.floor(Number(m[1]) * scale);
  return v >= 1 && Number.isSafeInteger(v) ? v : undefined;
}

/** A rate as the engine's timetable takes it inside a schedule: no spaces ("10 MB" → "10MB"). */
function specRate(text: string): string {
  return text.replace(/\s+/g, "");
}

/** "524.3 kB/s", "10.5 MB/s", "no limit": the app's one unit convention (units.ts). */
export function describeRate(bytes: number | null): string {
  return bytes === null ? "no limit" : formatRate(bytes);
}

export function rateProblem(text: string, allowOff = true): string | null {
  const t = text.trim();
  if (!t) return `give a rate: try 200k or 1.5 MB/s${allowOff ? ", or off" : ""}`;
  const r = parseRate(t);
  if (r === undefined) return `"${t}" is not a rate: try 200k or 1.5 MB/s${allowOff ? ", or off" : ""}`;
  if (r === null && !allowOff) return "choose “No limit” instead of off";
  return null;
}

export function timeProblem(text: string): string | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return `"${text.trim()}" is not a time: HH:MM, 00:00 to 23:59`;
  return null;
}

function normTime(text: string): string {
  const [h, m] = text.trim().split(":");
  return `${h.padStart(2, "0")}:${m}`;
}

/** Problems of each row (`null` where fine), duplicates included, and one for the whole. */
export function scheduleProblems(slots: Slot[]): { rows: (string | null)[]; all: string | null } {
  const seen = new Map<string, number>();
  const rows = slots.map((s, i) => {
    const p = timeProblem(s.time) ?? rateProblem(s.rate);
    if (p) return p;
    const key = `${s.day}-${normTime(s.time)}`;
    if (seen.has(key)) return `starts at the same time as line ${seen.get(key)! + 1}`;
    seen.set(key, i);
    return null;
  });
  const all = slots.length === 0 ? "add at least one time to the schedule" : null;
  return { rows, all };
}

/** The engine's spec for the form, or a reason it has none. `null` spec means no limit. */
export function formatBandwidth(b: Bandwidth): { spec: string | null } | { problem: string } {
  if (b.mode === "off") return { spec: null };
  if (b.mode === "always") {
    const p = rateProblem(b.rate, false);
    return p ? { problem: p } : { spec: specRate(b.rate) };
  }
  const { rows, all } = scheduleProblems(b.slots);
  if (all) return { problem: all };
  const bad = rows.findIndex((r) => r !== null);
  if (bad >= 0) return { problem: `line ${bad + 1}: ${rows[bad]}` };
  const spec = b.slots
    .map((s) => `${s.day ? `${s.day}-` : ""}${normTime(s.time)},${specRate(s.rate)}`)
    .join(" ");
  return { spec };
}

/** The form for a saved spec. A spec the form cannot show line by line still round-trips. */
export function parseBandwidth(spec: string | null): Bandwidth {
  const empty: Slot[] = [{ day: "", time: "09:00", rate: "1M" }, { day: "", time: "18:00", rate: "off" }];
  const t = (spec ?? "").trim();
  if (!t || t.toLowerCase() === "off") return { mode: "off", rate: "10M", slots: empty };
  if (!t.includes(",")) return { mode: "always", rate: t, slots: empty };
  const slots = t.split(/\s+/).map((entry) => {
    const [when, rate = ""] = entry.split(",");
    const dash = when.indexOf("-");
    return dash >= 0
      ? { day: when.slice(0, dash), time: when.slice(dash + 1), rate }
      : { day: "", time: when, rate };
  });
  return { mode: "schedule", rate: "10M", slots };
}

export function parallelProblem(text: string): string | null {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > MAX_PARALLEL) {
    return `"${text.trim()}" is not a whole number from 1 to ${MAX_PARALLEL}`;
  }
  return null;
}

export const MAX_HISTORY_DAYS = 36500;

/** The history field holds a number input's value: a number, or null/"" when it is empty. */
export function historyProblem(days: number | string | null | undefined): string | null {
  const n = typeof days === "string" ? (days.trim() ? Number(days) : NaN) : (days ?? NaN);
  return Number.isInteger(n) && n >= 0 && n <= MAX_HISTORY_DAYS ? null : "a whole number of days, 0 to 36,500";
}

/** The fields of the Settings form that can be wrong, as typed. */
export type PrefsForm = { parallel: string; bandwidth: Bandwidth; historyDays: number | string | null; proxy: ProxyPrefs };

/** One wrong field: its element's id, what it is called, and what is wrong. */
export type FieldProblem = { field: string; label: string; problem: string };

/** Every problem of the form at once, in the page's order, each by its field: shown beside the
 * field as it is typed, listed together by Save, which waits until there are none. The engine
 * checks again on Save with the same rules (its rate parser is held to rates.fixtures.json). */
export function formProblems(f: PrefsForm): FieldProblem[] {
  const out: FieldProblem[] = [];
  const add = (field: string, label: string, problem: string | null) => {
    if (problem) out.push({ field, label, problem });
  };
  add("pref-parallel", "Files uploading at once", parallelProblem(f.parallel));
  add("pref-history", "History", historyProblem(f.historyDays));
  const b = f.bandwidth;
  if (b.mode === "always") add("bw-rate", "Bandwidth limit", rateProblem(b.rate, false));
  if (b.mode === "schedule") {
    const { rows, all } = scheduleProblems(b.slots);
    add("bw-add", "Bandwidth schedule", all);
    rows.forEach((p, i) => add(timeProblem(b.slots[i].time) ? `bw-time-${i}` : `bw-rate-${i}`, `Schedule line ${i + 1}`, p));
  }
  const mode = f.proxy.mode ?? "system";
  add("proxy-url", "Proxy URL", proxyUrlProblem(mode, f.proxy.url ?? ""));
  add("proxy-user", "Proxy user", userProblem(f.proxy.username ?? ""));
  add("proxy-no-proxy", "No proxy for", noProxyProblem(f.proxy.noProxy ?? ""));
  return out;
}

/** The problem of one field, or null. */
export function problemOf(problems: FieldProblem[], field: string): string | null {
  return problems.find((p) => p.field === field)?.problem ?? null;
}

/** When what the page changes takes effect, as the engine does it (`App::set_prefs`, the
 * desktop shell's autostart): nothing as it is typed; the rest on Save, except the two below. */
export const APPLIES = {
  page: "Changes apply when you press Save, and then at once, to running uploads and watched folders too; only “When a Doc of that name exists” waits for the next sign-in or restart.",
  parallel: "applies on Save, to running uploads too",
  conflict: "applies from the next sign-in or restart",
  bandwidth: "Applies on Save, at once, to every upload and watched folder",
} as const;

export const CONFLICT_LABELS: Record<ConflictPolicy, string> = {
  rename: "Keep both (name-1.ext)",
  skip: "Skip the file",
  replace: "Replace the Doc",
};
