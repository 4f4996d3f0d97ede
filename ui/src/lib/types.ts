// Types of the back-end contract (Tauri commands), generated from Rust: see
// generated/bindings.ts (regenerate: TWINDROP_BLESS=1 cargo test -p twindrop --lib bindings).
// This file only names them as the rest of the UI knows them. Pure types: no runtime code,
// so both api.ts and the pure queue logic (and its tests) can import them.

import type { ErrorInfo, Prefs as PrefsIn, SessionInfo } from "./generated/bindings";

export type {
  ActivityEntry,
  ActivityFilter,
  ActivityKind,
  ConflictPolicy,
  Counts,
  DeletePolicy,
  DocEntry,
  DocStatus,
  FolderConflicts,
  FolderState,
  FolderStatus,
  FolderUpdate,
  JobState,
  NamedFile,
  NameIssue,
  PickKind,
  Planned,
  ProfileEntry,
  QueueEvent,
  ServiceKind,
  SessionKind,
  Stage,
} from "./generated/bindings";

/** The account the window talks to (`session_get`, the logins). */
export type Session = SessionInfo;

/** Every command may reject with this shape. Branch on `code`, never on `message`. */
export type ApiError = ErrorInfo;

/**
 * The app's preferences. `prefs_get` and `prefs_set` answer with every field; the generated
 * type has them optional because the back end fills a missing one with its default on the way in.
 */
export type Prefs = Required<PrefsIn>;
