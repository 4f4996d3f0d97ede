// Typed wrappers over the Tauri commands, with error normalisation.
//
// Every wrapper rejects with an ApiError ({code, message, retryable}); callers
// branch on `code` only. Outside Tauri (plain browser, e.g. `vite preview`)
// nothing crashes: every command rejects with code "tauri.unavailable".

import { Channel, invoke } from "@tauri-apps/api/core";
import type { NamedFile } from "./naming";
import type { ApiError, DocEntry, ProfileEntry, QueueEvent, ServiceKind, Session } from "./types";

export type { ApiError, DocEntry, QueueEvent, Session } from "./types";

/** Payload of the webview's drag-and-drop event (same shape as Tauri's). */
export type DropEvent =
  | { type: "enter"; paths: string[] }
  | { type: "over" }
  | { type: "drop"; paths: string[] }
  | { type: "leave" };

export interface Backend {
  call<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** A command that takes an `events` Channel of QueueEvents. */
  stream<T>(cmd: string, args: Record<string, unknown>, onEvent: (ev: QueueEvent) => void): Promise<T>;
  onDragDrop(handler: (ev: DropEvent) => void): Promise<() => void>;
}

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

const tauriBackend: Backend = {
  call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
    return invoke<T>(cmd, args);
  },
  stream<T>(cmd: string, args: Record<string, unknown>, onEvent: (ev: QueueEvent) => void): Promise<T> {
    const events = new Channel<QueueEvent>(onEvent);
    return invoke<T>(cmd, { ...args, events });
  },
  async onDragDrop(handler) {
    const { getCurrentWebview } = await import("@tauri-apps/api/webview");
    return getCurrentWebview().onDragDropEvent((event) => {
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
  },
};

const unavailableBackend: Backend = {
  call() {
    return Promise.reject({ ...UNAVAILABLE });
  },
  stream() {
    return Promise.reject({ ...UNAVAILABLE });
  },
  onDragDrop() {
    return Promise.resolve(() => {});
  },
};

function backend(): Backend {
  return hasTauri() ? tauriBackend : unavailableBackend;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  const b = backend();
  try {
    return await b.call<T>(cmd, args);
  } catch (e) {
    throw normaliseError(e);
  }
}

export function sessionGet(): Promise<Session | null> {
  return call<Session | null>("session_get");
}

export function loginSandbox(): Promise<Session> {
  return call<Session>("login_sandbox");
}

/** Signs in to a service; the secret is checked first, then kept in the system keyring. */
export function loginService(
  service: ServiceKind,
  baseUrl: string,
  secret: string,
  destination: string | null,
): Promise<Session> {
  return call<Session>("login_service", { service, baseUrl, secret, destination });
}

/** Saved accounts (never their secrets). */
export function profilesList(): Promise<ProfileEntry[]> {
  return call<ProfileEntry[]>("profiles_list");
}

/** Switches to a saved account, with the secret the keyring holds for it. */
export function profileOpen(name: string): Promise<Session> {
  return call<Session>("profile_open", { name });
}

/** Leaves the account signed in (its secret stays in the keyring), to switch to another. */
export function sessionClose(): Promise<null> {
  return call<null>("session_close");
}

export function logout(): Promise<null> {
  return call<null>("logout");
}

export function twinsRecent(): Promise<string[]> {
  return call<string[]>("twins_recent");
}

export function twinCreate(): Promise<string> {
  return call<string>("twin_create");
}

export function twinSelect(twin: string): Promise<string> {
  return call<string>("twin_select", { twin });
}

async function stream<T>(cmd: string, args: Record<string, unknown>, onEvent: (ev: QueueEvent) => void): Promise<T> {
  const b = backend();
  try {
    return await b.stream<T>(cmd, args, onEvent);
  } catch (e) {
    throw normaliseError(e);
  }
}

/**
 * The naming preview of dropped paths (folders expanded): each file's proposed Doc name or why
 * it has none. With a Twin, names already sent there from other files carry a notice.
 */
export function namesPreview(twin: string | null, paths: string[], template: string | null): Promise<NamedFile[]> {
  return call<NamedFile[]>("names_preview", { twin, paths, template });
}

/** Queue files under the names settled on, with the batch's storage class and description. */
export function uploadPlanned(
  twin: string,
  items: { path: string; name: string }[],
  storageClass: string,
  description: Record<string, unknown> | null,
  onEvent: (ev: QueueEvent) => void,
): Promise<number[]> {
  return stream<number[]>("upload_planned", { twin, items, storageClass, description }, onEvent);
}

/**
 * The window's own channel: the queue's `stats` and the events of jobs that no drop listens to
 * (retried jobs, Docs sent again). Resolves to whether the queue is paused as a whole.
 */
export function queueWatch(onEvent: (ev: QueueEvent) => void): Promise<boolean> {
  return stream<boolean>("queue_watch", {}, onEvent);
}

/** Each resolves to false when the job was not in a state that allows it. */
export function queuePause(id: number): Promise<boolean> {
  return call<boolean>("queue_pause", { id });
}

export function queueResume(id: number): Promise<boolean> {
  return call<boolean>("queue_resume", { id });
}

export function queueCancel(id: number): Promise<boolean> {
  return call<boolean>("queue_cancel", { id });
}

export function queueRetry(id: number): Promise<boolean> {
  return call<boolean>("queue_retry", { id });
}

export function queuePauseAll(): Promise<null> {
  return call<null>("queue_pause_all");
}

export function queueResumeAll(): Promise<null> {
  return call<null>("queue_resume_all");
}

/** Resolves to how many failed jobs went back to the queue. */
export function queueRetryFailed(): Promise<number> {
  return call<number>("queue_retry_failed");
}

export function docsList(twin: string): Promise<DocEntry[]> {
  return call<DocEntry[]>("docs_list", { twin });
}

export function docDelete(twin: string, name: string): Promise<null> {
  return call<null>("doc_delete", { twin, name });
}

/** Deletes a hash_mismatch/error Doc and queues its file again; resolves to the new job ids. */
export function docRetry(twin: string, name: string): Promise<number[]> {
  return call<number[]>("doc_retry", { twin, name });
}

/** The final event of each of these jobs that has settled (the journal's view). */
/** Native file or folder picker; resolves to the chosen paths, `[]` when cancelled. */
export function pickPaths(kind: "files" | "folder"): Promise<string[]> {
  return call<string[]>("pick_paths", { kind });
}

export function queueSettled(ids: number[]): Promise<QueueEvent[]> {
  return call<QueueEvent[]>("queue_settled", { ids });
}

/** Subscribes to the window's file drag-and-drop; resolves to an unsubscribe function. */
export async function onDragDrop(handler: (ev: DropEvent) => void): Promise<() => void> {
  const b = backend();
  try {
    return await b.onDragDrop(handler);
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
export function watchedList(): Promise<import("./watched").FolderStatus[]> {
  return call("watched_list");
}

export function watchedAdd(path: string, destination: string): Promise<import("./watched").FolderStatus> {
  return call("watched_add", { path, destination });
}

export function watchedUpdate(path: string, update: import("./watched").FolderUpdate): Promise<import("./watched").FolderStatus> {
  return call("watched_update", { path, update });
}

export function watchedRemove(path: string): Promise<null> {
  return call("watched_remove", { path });
}

export function watchedPause(path: string, paused: boolean): Promise<import("./watched").FolderStatus> {
  return call("watched_pause", { path, paused });
}

export function prefsGet(): Promise<import("./settings").Prefs> {
  return call("prefs_get");
}

/** Saves after the back end checked them; resolves to the prefs as saved. */
export function prefsSet(prefs: import("./settings").Prefs): Promise<import("./settings").Prefs> {
  return call("prefs_set", { prefs });
}

export function activityList(filter: import("./activity").ActivityFilter): Promise<import("./activity").ActivityEntry[]> {
  return call("activity_list", { filter });
}
