// Wrappers over the Tauri commands, with error normalisation. The commands themselves, their
// names, arguments and result types, are generated from Rust (generated/bindings.ts); this is
// the only module that calls them.
//
// Every wrapper rejects with an ApiError ({code, message, retryable}); callers
// branch on `code` only. Outside Tauri (plain browser, e.g. `vite preview`)
// nothing crashes: every command rejects with code "tauri.unavailable".

import { Channel } from "@tauri-apps/api/core";
import { commands, type ConnectionForm, type Value } from "./generated/bindings";
import type {
  ActivityEntry,
  ActivityFilter,
  ApiError,
  DocEntry,
  DocRow,
  FolderStatus,
  FolderUpdate,
  LocalFile,
  NamedFile,
  PickKind,
  Planned,
  Prefs,
  ProfileEntry,
  QueueEvent,
  ReceiptSaved,
  Report,
  Saved,
  SentAgain,
  ServiceKind,
  Session,
  TwinNames,
  VerifyProgress,
  VerifyRow,
  VerifyView,
} from "./types";

export type { ApiError, DocEntry, QueueEvent, Session } from "./types";

/** Payload of the webview's drag-and-drop event (same shape as Tauri's). */
export type DropEvent =
  | { type: "enter"; paths: string[] }
  | { type: "over" }
  | { type: "drop"; paths: string[] }
  | { type: "leave" };

export const UNAVAILABLE: ApiError = {
  code: "tauri.unavailable",
  message: "The Twindrop back end is not available (this page is not running inside the app)",
  retryable: false,
};

export function hasTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

export function isApiError(v: unknown): v is ApiError {
  return isRecord(v) && typeof v.code === "string" && typeof v.message === "string";
}

/** Turns anything a command may reject with into an ApiError. */
export function normaliseError(e: unknown): ApiError {
  if (isApiError(e)) {
    return { code: e.code, message: e.message, retryable: e.retryable === true };
  }
  if (typeof e === "string") {
    // A back end returning a serialised error as a string still gets its code shown.
    const t = e.trim();
    if (t.startsWith("{")) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (isApiError(parsed)) return normaliseError(parsed);
      } catch {
        // not JSON: fall through
      }
    }
    return { code: "app.error", message: e, retryable: false };
  }
  if (e instanceof Error) {
    return { code: "ui.exception", message: e.message || String(e), retryable: false };
  }
  return { code: "app.error", message: String(e), retryable: false };
}

/** "auth.unauthorized — The server refused the secret" */
export function formatError(e: ApiError): string {
  return `${e.code} — ${e.message}`;
}

/** Runs one generated command; rejects with an ApiError (tauri.unavailable outside the app). */
async function call<T>(command: () => Promise<T>): Promise<T> {
  if (!hasTauri()) throw { ...UNAVAILABLE };
  try {
    return await command();
  } catch (e) {
    throw normaliseError(e);
  }
}

/** The same, for a command that streams QueueEvents over a Channel (made only inside the app).
 * They come in batches (one message per batch, as the shell gathers them), heard one by one. */
function stream<T>(
  onEvent: (ev: QueueEvent) => void,
  command: (events: Channel<QueueEvent[]>) => Promise<T>,
): Promise<T> {
  return call(() => command(new Channel<QueueEvent[]>((batch) => batch.forEach(onEvent))));
}

export function sessionGet(): Promise<Session | null> {
  return call(() => commands.sessionGet());
}

export function loginSandbox(): Promise<Session> {
  return call(() => commands.loginSandbox());
}

/** Signs in to a service; the secret is checked first, then kept in the system keyring. */
export function loginService(
  service: ServiceKind,
  baseUrl: string,
  secret: string,
  destination: string | null,
): Promise<Session> {
  return call(() => commands.loginService(service, baseUrl, secret, destination));
}

/** "Check connection": of a sign-in form as filled in, or (`null`) of the open session. */
export function connectionCheck(form: ConnectionForm | null): Promise<Report> {
  return call(() => commands.connectionCheck(form));
}

/** Saved accounts (never their secrets). */
export function profilesList(): Promise<ProfileEntry[]> {
  return call(() => commands.profilesList());
}

/** Switches to a saved account, with the secret the keyring holds for it. */
export function profileOpen(name: string): Promise<Session> {
  return call(() => commands.profileOpen(name));
}

/** Leaves the account signed in (its secret stays in the keyring), to switch to another. */
export function sessionClose(): Promise<null> {
  return call(() => commands.sessionClose());
}

export function logout(): Promise<null> {
  return call(() => commands.logout());
}

export function twinsRecent(): Promise<string[]> {
  return call(() => commands.twinsRecent());
}

/** Creates a Twin; a non-blank `name` is kept in its description on the server (`name`). */
export function twinCreate(name?: string | null): Promise<string> {
  return call(() => commands.twinCreate(name?.trim() || null));
}

/** What every known Twin is called (nickname, server name), by UUID. */
export function twinNames(): Promise<TwinNames> {
  return call(() => commands.twinNames());
}

/** Gives a Twin a nickname on this machine ("" removes it); answers every Twin's names. */
export function twinRename(twin: string, name: string): Promise<TwinNames> {
  return call(() => commands.twinRename(twin, name));
}

/** Whether the first-run guide was closed once. */
export function guideSeen(): Promise<boolean> {
  return call(() => commands.guideSeen());
}

export function guideSetSeen(seen: boolean): Promise<null> {
  return call(() => commands.guideSetSeen(seen));
}

export function twinSelect(twin: string): Promise<string> {
  return call(() => commands.twinSelect(twin));
}

/**
 * The naming preview of dropped paths (folders expanded): each file's proposed Doc name or why
 * it has none. With a Twin, names already sent there from other files carry a notice.
 */
export function namesPreview(twin: string | null, paths: string[], template: string | null): Promise<NamedFile[]> {
  return call(() => commands.namesPreview(twin, paths, template));
}

/** Queue files under the names settled on, with the batch's storage class and description. */
export function uploadPlanned(
  twin: string,
  items: Planned[],
  storageClass: string,
  description: Record<string, unknown> | null,
  onEvent: (ev: QueueEvent) => void,
): Promise<number[]> {
  // The description is parsed JSON (naming.parseDescription), so it is a JSON value.
  const json = description as Value | null;
  return stream(onEvent, (events) => commands.uploadPlanned(twin, items, storageClass, json, events));
}

/**
 * The window's own channel: the queue's `stats` and the events of jobs that no drop listens to
 * (retried jobs, Docs sent again). Resolves to whether the queue is paused as a whole.
 */
export function queueWatch(onEvent: (ev: QueueEvent) => void): Promise<boolean> {
  return stream(onEvent, (events) => commands.queueWatch(events));
}

/** Each resolves to false when the job was not in a state that allows it. */
export function queuePause(id: number): Promise<boolean> {
  return call(() => commands.queuePause(id));
}

export function queueResume(id: number): Promise<boolean> {
  return call(() => commands.queueResume(id));
}

export function queueCancel(id: number): Promise<boolean> {
  return call(() => commands.queueCancel(id));
}

export function queueRetry(id: number): Promise<boolean> {
  return call(() => commands.queueRetry(id));
}

/** Forget a failed job whose file is gone. */
export function queueRemove(id: number): Promise<boolean> {
  return call(() => commands.queueRemove(id));
}

/** Send a failed job's Doc from its file's new place (a path from `pickPaths`). */
export function queueLocate(id: number, path: string): Promise<boolean> {
  return call(() => commands.queueLocate(id, path));
}

export function queuePauseAll(): Promise<null> {
  return call(() => commands.queuePauseAll());
}

export function queueResumeAll(): Promise<null> {
  return call(() => commands.queueResumeAll());
}

/** Resolves to how many failed jobs went back to the queue. */
export function queueRetryFailed(): Promise<number> {
  return call(() => commands.queueRetryFailed());
}

/** "Clear finished": the ended jobs leave the queue's figures too (the window drops their rows). */
export function queueClearFinished(): Promise<null> {
  return call(() => commands.queueClearFinished());
}

export function docsList(twin: string): Promise<DocRow[]> {
  return call(() => commands.docsList(twin));
}

/** The named Docs with their status and details (the rows in view; at most 200 names). */
export function docsDetails(twin: string, names: string[]): Promise<DocEntry[]> {
  return call(() => commands.docsDetails(twin, names));
}

export function docDelete(twin: string, name: string): Promise<null> {
  return call(() => commands.docDelete(twin, name));
}

/** Deletes a hash_mismatch/error Doc and queues its file again; resolves to the new job ids. */
export function docRetry(twin: string, name: string): Promise<number[]> {
  return call(() => commands.docRetry(twin, name));
}

/** Asks where to save the Doc (offering `suggested`), then downloads it there, checked against
 * its recorded SHA-256; null when the user cancelled. */
export function docDownload(twin: string, name: string, suggested: string): Promise<Saved | null> {
  return call(() => commands.docDownload(twin, name, suggested));
}

/** The file the Doc was sent from, when the journal knows it; null when it does not. */
export function docLocalFile(twin: string, name: string): Promise<LocalFile | null> {
  return call(() => commands.docLocalFile(twin, name));
}

/** Shows the Doc's local file in the file manager; resolves to its path. */
export function docReveal(twin: string, name: string): Promise<string> {
  return call(() => commands.docReveal(twin, name));
}

/** Native file or folder picker; resolves to the chosen paths, `[]` when cancelled. */
export function pickPaths(kind: PickKind): Promise<string[]> {
  return call(() => commands.pickPaths(kind));
}

/** The final event of each of these jobs that has settled (the journal's view). */
export function queueSettled(ids: number[]): Promise<QueueEvent[]> {
  return call(() => commands.queueSettled(ids));
}

/** Subscribes to the window's file drag-and-drop; resolves to an unsubscribe function. */
export async function onDragDrop(handler: (ev: DropEvent) => void): Promise<() => void> {
  if (!hasTauri()) return () => {};
  try {
    const { getCurrentWebview } = await import("@tauri-apps/api/webview");
    return await getCurrentWebview().onDragDropEvent((event) => {
      const p = event.payload;
      switch (p.type) {
        case "enter":
          handler({ type: "enter", paths: p.paths ?? [] });
          break;
        case "over":
          handler({ type: "over" });
          break;
        case "drop":
          handler({ type: "drop", paths: p.paths ?? [] });
          break;
        case "leave":
          handler({ type: "leave" });
          break;
      }
    });
  } catch {
    return () => {};
  }
}

/** Subscribes to pause/resume of the whole queue from outside the window (the tray menu). */
export async function onQueuePaused(handler: (paused: boolean) => void): Promise<() => void> {
  if (!hasTauri()) return () => {};
  try {
    const { listen } = await import("@tauri-apps/api/event");
    return await listen<boolean>("queue-paused", (e) => handler(e.payload === true));
  } catch {
    return () => {};
  }
}

// ---- Watched folders, preferences, activity (Watched.svelte, Settings.svelte, Activity.svelte)

/** The open account's watched folders with their status. */
export function watchedList(): Promise<FolderStatus[]> {
  return call(() => commands.watchedList());
}

export function watchedAdd(path: string, destination: string): Promise<FolderStatus> {
  return call(() => commands.watchedAdd(path, destination));
}

export function watchedUpdate(path: string, update: FolderUpdate): Promise<FolderStatus> {
  return call(() => commands.watchedUpdate(path, update));
}

export function watchedRemove(path: string): Promise<null> {
  return call(() => commands.watchedRemove(path));
}

export function watchedPause(path: string, paused: boolean): Promise<FolderStatus> {
  return call(() => commands.watchedPause(path, paused));
}

/** Every field is there: the back end answers with whole prefs (see `Prefs` in types.ts). */
export function prefsGet(): Promise<Prefs> {
  return call(() => commands.prefsGet() as Promise<Prefs>);
}

/** Stores the proxy's password in the OS keyring (null or "": removes it). Never read back. */
export async function proxyPasswordSet(password: string | null): Promise<void> {
  await call(() => commands.proxyPasswordSet(password));
}

/** Saves after the back end checked them; resolves to the prefs as saved. */
export function prefsSet(prefs: Prefs): Promise<Prefs> {
  return call(() => commands.prefsSet(prefs) as Promise<Prefs>);
}

/** Shows the folder of the app's log files in the file manager. */
export function logsOpenFolder(): Promise<null> {
  return call(() => commands.logsOpenFolder());
}

export function activityList(filter: ActivityFilter): Promise<ActivityEntry[]> {
  return call(() => commands.activityList(filter));
}

// ---- Verify (Verify.svelte) ----------------------------------------------------------------

/** Verify a watched folder against its destination; `onProgress` hears the reading every 100 ms. */
export function verifyFolder(path: string, onProgress: (p: VerifyProgress) => void): Promise<VerifyView> {
  return call(() => commands.verifyFolder(path, new Channel<VerifyProgress>(onProgress)));
}

/** Verify a picked folder against a Twin, its files named as an upload names them. */
export function verifyAgainst(twin: string, path: string, onProgress: (p: VerifyProgress) => void): Promise<VerifyView> {
  return call(() => commands.verifyAgainst(twin, path, new Channel<VerifyProgress>(onProgress)));
}

/** Rows `start..end` of a verification, in its order (the ones in view). */
export function verifyRows(id: number, start: number, end: number): Promise<VerifyRow[]> {
  return call(() => commands.verifyRows(id, start, end));
}

/** The window is done with a verification: the app need not keep it. */
export function verifyClose(id: number): Promise<null> {
  return call(() => commands.verifyClose(id));
}

/** Send again what differs or is missing; jobs of the upload queue are heard on `onEvent`. */
export function verifySendAgain(id: number, onEvent: (ev: QueueEvent) => void): Promise<SentAgain> {
  return stream(onEvent, (events) => commands.verifySendAgain(id, events));
}

/** Asks where to save the receipt (a native dialog offering `suggested`); `null`: cancelled. */
export function verifyExport(id: number, suggested: string): Promise<ReceiptSaved | null> {
  return call(() => commands.verifyExport(id, suggested));
}
