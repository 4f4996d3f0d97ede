// In-memory emulation of the back end, loaded ONLY in a plain browser when the
// page is opened with #mock, #mock-demo or #mock-drag (never inside Tauri).
// It exists to look at the layout with `vite preview` + a headless browser.
//
//   #mock       sandbox session, two recent Twins
//   #mock-demo  same, then drops a few files (one fails, one mismatches, one stays in progress)
//   #mock-drag  same, then leaves a drag hovering over the window

import type { Backend, DropEvent } from "./api";
import type { ApiError, QueueEvent, Session } from "./types";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function err(code: string, message: string, retryable = false): ApiError {
  return { code, message, retryable };
}

function uuid(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createMockBackend(mode: string): Backend {
  const sandbox: Session = {
    kind: "sandbox",
    baseUrl: "http://127.0.0.1:7411",
    account: "sandbox",
    profile: null,
  };
  let session: Session | null = sandbox;
  let twins: string[] = [
    "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90",
    "b81e44d2-0c7a-4f3e-8d25-6a9b1f0e7c34",
  ];
  const known = new Set(twins);
  let nextId = 1;
  let dropHandler: ((ev: DropEvent) => void) | null = null;

  function remember(t: string) {
    twins = [t, ...twins.filter((x) => x !== t)];
    known.add(t);
  }

  async function run(id: number, path: string, size: number, emit: (ev: QueueEvent) => void) {
    const name = path.split(/[\\/]/).pop() ?? path;
    const docName = name.replace(/\s+/g, "_");
    await sleep(150 + id * 60);
    if (/unreadable/.test(name)) {
      emit({ type: "failed", id, error: err("io.unreadable", `Cannot read ${path}: permission denied`) });
      return;
    }
    const slow = /\.mov$/i.test(name);
    for (const stage of ["hashing", "uploading", "attaching", "verifying"] as const) {
      const steps = stage === "uploading" ? 5 : 2;
      for (let i = 1; i <= steps; i++) {
        emit({ type: "progress", id, stage, bytesDone: Math.floor((size * i) / steps), bytesTotal: size });
        await sleep(120);
        if (slow && stage === "uploading" && i === 3) return; // stays in progress for the demo
      }
    }
    emit({
      type: "finished",
      id,
      docName,
      status: /mismatch/.test(name) ? "hash_mismatch" : "ok",
      sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    });
  }

  const backend: Backend = {
    async call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
      await sleep(80);
      const a = args ?? {};
      switch (cmd) {
        case "session_get":
          return session as T;
        case "login_sandbox":
          session = sandbox;
          return session as T;
        case "login_trusted_twin": {
          const baseUrl = String(a.baseUrl ?? "");
          const secret = String(a.secret ?? "");
          if (!/^https?:\/\//.test(baseUrl)) throw err("input.invalid", "The base URL must start with https://");
          if (!secret) throw err("input.invalid", "The secret is empty");
          if (secret !== "good") throw err("auth.unauthorized", "The server refused the secret");
          session = { kind: "trusted_twin", baseUrl, account: "5e1d0a4c-77b2-4b9e-a3f0-1c2d3e4f5a6b", profile: null };
          return session as T;
        }
        case "logout":
          session = null;
          return null as T;
        case "twins_recent":
          return twins.slice() as T;
        case "twin_create": {
          const t = uuid();
          remember(t);
          return t as T;
        }
        case "twin_select": {
          const t = String(a.twin ?? "").trim();
          if (!UUID_RE.test(t)) throw err("input.invalid", "A Twin id is a UUID such as 3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90");
          if (!known.has(t)) throw err("twin.not_found", `No Twin ${t} in this account`);
          remember(t);
          return t as T;
        }
        default:
          throw err("command.unknown", `Unknown command ${cmd}`);
      }
    },

    async upload(twin, paths, onEvent) {
      await sleep(60);
      if (!known.has(twin)) throw err("twin.not_found", `No Twin ${twin} in this account`);
      const ids: number[] = [];
      paths.forEach((path, i) => {
        const id = nextId++;
        ids.push(id);
        const name = path.split(/[\\/]/).pop() ?? path;
        const size = [48_213, 2_483_027, 734_003_200, 1_204, 15_728_640][i % 5];
        onEvent({
          type: "added",
          id,
          path,
          fileName: name,
          docName: /unreadable/.test(name) ? null : name.replace(/\s+/g, "_"),
          size: /unreadable/.test(name) ? null : size,
        });
        void run(id, path, size, onEvent);
      });
      return ids;
    },

    async onDragDrop(handler) {
      dropHandler = handler;
      if (mode === "#mock-demo") {
        setTimeout(() => {
          dropHandler?.({ type: "enter", paths: [] });
          dropHandler?.({
            type: "drop",
            paths: [
              "/home/ana/Reports/q3 summary.pdf",
              "/home/ana/Photos/site-visit.jpg",
              "/home/ana/Video/walkthrough.mov",
              "/home/ana/notes-mismatch.txt",
              "/home/ana/locked/unreadable.bin",
            ],
          });
        }, 400);
      } else if (mode === "#mock-drag") {
        setTimeout(() => {
          dropHandler?.({ type: "enter", paths: ["/tmp/a.txt"] });
          dropHandler?.({ type: "over" });
        }, 400);
      }
      return () => {
        if (dropHandler === handler) dropHandler = null;
      };
    },
  };
  return backend;
}
