// The names of Twins as the window knows them: one store every view reads (the Twin card,
// the Docs tab, watched folders, activity), refreshed from the back end after each change.

import { writable } from "svelte/store";
import { twinNames, twinRename } from "./api";
import type { TwinNames } from "./types";

export const names = writable<TwinNames>({});

/** Read them again (after a Twin is created or chosen: its server name may be new). */
export async function refreshNames(): Promise<void> {
  try {
    names.set(await twinNames());
  } catch {
    // Outside the app, or the settings cannot be read: UUIDs show, as before.
  }
}

/** Set a Twin's nickname ("" removes it); rejects with an ApiError when it is refused. */
export async function renameTwin(twin: string, name: string): Promise<void> {
  names.set(await twinRename(twin, name));
}
