// Dates and times as the app shows them, through Intl (DateTimeFormat, RelativeTimeFormat):
// "2026-05-04 14:03:12" in local time for a full date, "5 minutes ago" for a recent one.

const LOCALE = "en-US";
const PARTS = new Intl.DateTimeFormat(LOCALE, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
// Short ("5 min. ago"): the Activity list gives the time a narrow column of its own.
const RELATIVE = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto", style: "short" });

/** Epoch milliseconds → "2026-05-04 14:03:12" in local time (sortable, unambiguous). */
export function localTime(ms: number): string {
  const p: Record<string, string> = {};
  for (const part of PARTS.formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** "just now", "42 sec. ago", "5 min. ago", "3 hr. ago", "yesterday", "4 days ago",
 * then the date; `null` → "never". */
export function relativeTime(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return "never";
  const secs = Math.round((now - ms) / 1000);
  if (secs < 5) return "just now";
  if (secs < 60) return RELATIVE.format(-secs, "second");
  const mins = Math.floor(secs / 60);
  if (mins < 60) return RELATIVE.format(-mins, "minute");
  const hours = Math.floor(mins / 60);
  if (hours < 24) return RELATIVE.format(-hours, "hour");
  const days = Math.floor(hours / 24);
  if (days < 7) return RELATIVE.format(-days, "day");
  return localTime(ms).slice(0, 10);
}
