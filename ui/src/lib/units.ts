// Sizes and rates as the whole app shows them: decimal units, as GNOME and macOS do ("999 B",
// "2.9 kB", "12.4 MB"), one decimal from a kilobyte on, rounded half up. The engine's
// `size::human` writes the same strings for the tray and the CLI; units.fixtures.json pins both.

const LOCALE = "en-US";
const WHOLE = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const TENTHS = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const UNITS = ["kB", "MB", "GB", "TB", "PB", "EB"];

/** "0 B", "999 B", "2.9 kB", "12.4 MB"; null/invalid → "—". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return "—";
  const bytes = Math.round(n);
  if (bytes < 1000) return `${WHOLE.format(bytes)} B`;
  // Counted in whole tenths first, so 999,950 B carries over to "1.0 MB", not "1000.0 kB".
  let unit = 1000;
  for (let i = 0; ; i++, unit *= 1000) {
    const tenths = Math.floor((bytes * 10 + unit / 2) / unit);
    if (tenths < 10_000 || i === UNITS.length - 1) return `${TENTHS.format(tenths / 10)} ${UNITS[i]}`;
  }
}

/** "2.4 MB/s"; nothing measured yet → "—". */
export function formatRate(bytesPerSec: number | null | undefined): string {
  if (bytesPerSec === null || bytesPerSec === undefined || !Number.isFinite(bytesPerSec) || bytesPerSec < 0) return "—";
  return `${formatBytes(bytesPerSec)}/s`;
}

/** A count as the app writes counts: "1,005". */
export function formatCount(n: number): string {
  return WHOLE.format(n);
}
