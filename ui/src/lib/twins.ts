// Names for Twins (pure): what to show instead of a UUID. The rule is the engine's
// (twindrop_engine::twin_names): the nickname given on this machine, else the name the Twin's
// description on the server gives it (`description.name`), else the UUID itself.

import { shortId } from "./queue";
import type { TwinNames } from "./types";

export type { TwinName, TwinNames } from "./types";

/** The name a Twin goes by, or `null` when it has none. */
export function twinName(id: string, names: TwinNames): string | null {
  const n = names[id.toLowerCase()];
  return n?.nickname?.trim() || n?.serverName?.trim() || null;
}

/** What to show for a Twin: its name, else its UUID (shortened when `short`). */
export function twinLabel(id: string, names: TwinNames, short = false): string {
  return twinName(id, names) ?? (short ? shortId(id) : id);
}

/** A tooltip that keeps the UUID at hand wherever a name stands in for it. */
export function twinTitle(id: string, names: TwinNames): string {
  const name = twinName(id, names);
  return name ? `${name} — Twin ${id}` : `Twin ${id}`;
}

/** A line of a Twin list: "Lab scans · 3c9f2a71…8a90", or the bare UUID. */
export function twinOption(id: string, names: TwinNames): string {
  const name = twinName(id, names);
  return name ? `${name} · ${shortId(id)}` : id;
}

/** Where a name comes from, for the Twin card: "nickname", "server" or none. */
export function nameSource(id: string, names: TwinNames): "nickname" | "server" | null {
  const n = names[id.toLowerCase()];
  if (n?.nickname?.trim()) return "nickname";
  if (n?.serverName?.trim()) return "server";
  return null;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A line of text (an activity message) with each named Twin's UUID replaced by its name in
 * quotes; unnamed UUIDs stay as they are. */
export function withTwinNames(text: string, names: TwinNames): string {
  return text.replace(UUID, (id) => {
    const name = twinName(id, names);
    return name ? `“${name}”` : id;
  });
}
