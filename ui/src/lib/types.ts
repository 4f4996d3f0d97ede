// Types of the back-end contract (Tauri commands). Pure types: no runtime code,
// so both api.ts and the pure queue logic (and its tests) can import them.

export type ServiceKind = "trusted_twin" | "redivis" | "inspect" | "hbr";
export type SessionKind = "sandbox" | ServiceKind;

export type Session = {
  kind: SessionKind;
  baseUrl: string;
  account: string;
  profile: string | null;
  /** The fixed destination of a Redivis (table), Inspect (asset) or HBR session. */
  destination: string | null;
};

/** A saved account on the login screen. */
export type ProfileEntry = {
  name: string;
  service: ServiceKind;
  baseUrl: string;
  destination: string | null;
  active: boolean;
};

import type { ErrorCode } from "./generated/codes";

export type { ErrorCode } from "./generated/codes";

/** Codes the UI itself gives: no back end, or a failure that did not come as an ApiError. */
export type UiErrorCode = "tauri.unavailable" | "app.error" | "ui.exception";

/** Every command may reject with this shape. Branch on `code`, never on `message`. The engine's
 * codes are generated from its one list (`ui/src/lib/generated/codes.ts`). */
export type ApiError = {
  code: ErrorCode | UiErrorCode;
  message: string;
  retryable: boolean;
};

export type Stage = "hashing" | "uploading" | "attaching" | "verifying";
export type FinishedStatus = "ok" | "hash_mismatch" | "error";

export type QueueEvent =
  | {
      type: "added";
      id: number;
      path: string;
      fileName: string;
      docName: string | null;
      size: number | null;
    }
  | {
      type: "progress";
      id: number;
      stage: Stage;
      bytesDone: number;
      bytesTotal: number;
    }
  | {
      type: "finished";
      id: number;
      docName: string;
      status: FinishedStatus;
      sha256: string;
    }
  | { type: "failed"; id: number; error: ApiError }
  | { type: "skipped"; id: number; docName: string; reason: string }
  | { type: "renamed"; id: number; docName: string }
  | { type: "retrying"; id: number; error: ApiError; waitMs: number }
  | { type: "state"; id: number; state: "queued" | "paused" | "cancelled" }
  | {
      type: "stats";
      bytesPerSec: number;
      etaSecs: number | null;
      bytesDone: number;
      bytesTotal: number;
      active: number;
    };

/** A Doc's status on the server. The server may add others; they show as they are. */
export type DocStatus = "copying" | "ok" | "hash_mismatch" | "error" | (string & {});

/** One Doc of a Twin, as docs_list returns it (timestamps are epoch seconds). */
export type DocEntry = {
  name: string;
  status: DocStatus;
  size: number | null;
  sha256: string | null;
  storageClass: string | null;
  description: unknown;
  createdTs: number | null;
  updatedTs: number | null;
};
