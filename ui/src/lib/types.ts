// Types of the back-end contract (Tauri commands), generated from Rust: see
// generated/bindings.ts (regenerate: TWINDROP_BLESS=1 cargo test -p twindrop --lib bindings).
// This file only names them as the rest of the UI knows them. Pure types: no runtime code,
// so both api.ts and the pure queue logic (and its tests) can import them.

import type { ErrorInfo, Prefs as PrefsIn, SessionInfo } from "./generated/bindings";

export type {
  ActivityCounts,
  ActivityEntry,
  ActivityFilter,
  ActivityKind,
  ConflictPolicy,
  DeletePolicy,
  DocEntry,
  DocRow,
  DocStatus,
  ErrorInfo,
  FolderConflicts,
  FolderCounts,
  FolderFiles,
  FolderState,
  FolderStatus,
  FolderUpdate,
  JobState,
  LastVerification,
  LocalFile,
  NamedFile,
  NameIssue,
  PickKind,
  Planned,
  ProfileEntry,
  ProxyMode,
  ProxyPrefs,
  QueueEvent,
  ReceiptSaved,
  RecentFile,
  Report,
  Saved,
  SentAgain,
  ServiceKind,
  SessionKind,
  Stage,
  Step,
  StepName,
  TwinName,
  TwinNames,
  StepVerdict,
  Verdict,
  VerdictGroup,
  VerifyView,
} from "./generated/bindings";

// What verify (the Verify view) names plainly, as the rest of the UI knows it.
export type {
  Counts as VerifyCounts,
  Progress as VerifyProgress,
  Row as VerifyRow,
} from "./generated/bindings";

/** The account the window talks to (`session_get`, the logins). */
export type Session = SessionInfo;

export type { ErrorCode } from "./generated/codes";

/** Codes the UI itself gives: no back end, or a failure that did not come as an ApiError. */
export type UiErrorCode = "tauri.unavailable" | "app.error" | "ui.exception";

/** Every command may reject with this shape (the engine's `ErrorInfo`, whose codes are
 * generated from its one list, or one of the UI's own). Branch on `code`, never on `message`. */
export type ApiError = Omit<ErrorInfo, "code"> & { code: ErrorInfo["code"] | UiErrorCode };

/**
 * The app's preferences. `prefs_get` and `prefs_set` answer with every field; the generated
 * type has them optional because the back end fills a missing one with its default on the way in.
 */
export type Prefs = Required<PrefsIn>;
