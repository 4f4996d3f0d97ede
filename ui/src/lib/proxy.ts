// Pure logic of Settings' Proxy section: the same checks as the engine's `proxy` module, so a
// mistake is shown by its field before saving (the engine checks again: `proxy.invalid`).

import type { ProxyMode, ProxyPrefs } from "./types";

export type { ProxyMode, ProxyPrefs } from "./types";

export const PROXY_MODES: Record<ProxyMode, string> = {
  system: "Use the system's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)",
  manual: "Use this proxy",
  off: "No proxy",
};

/** The proxy URL's problem, `null` when fine (or not needed). */
export function proxyUrlProblem(mode: ProxyMode, url: string): string | null {
  const t = url.trim();
  if (!t) return mode === "manual" ? "Give the proxy's URL, e.g. http://proxy.example:3128" : null;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return `"${t}" is not a proxy URL; write it as http://host:port`;
  }
  if (!["http:", "https:", "socks5:", "socks5h:"].includes(u.protocol)) {
    return `"${t}": use http://, https://, socks5:// or socks5h://`;
  }
  if (!u.hostname) return `"${t}" names no host`;
  if (u.username || u.password) return "Put the user and password in their own fields, not in the URL";
  if (!["", "/"].includes(u.pathname) || u.search || u.hash) return `"${t}": a proxy URL is only scheme://host:port`;
  return null;
}

const ENTRY_RE = /^\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;
const IP_RE = /^\[?[0-9A-Fa-f:.]+\]?(\/\d{1,3})?$/;

/** The "no proxy for" list's problem (NO_PROXY's syntax), `null` when fine. */
export function noProxyProblem(list: string): string | null {
  for (const entry of list.split(",").map((e) => e.trim()).filter((e) => e)) {
    if (entry !== "*" && !ENTRY_RE.test(entry) && !IP_RE.test(entry)) {
      return `"${entry}" is not a host name, IP address, CIDR range or *`;
    }
  }
  return null;
}

export function userProblem(user: string): string | null {
  return user.includes(":") ? "The user cannot hold ':'" : null;
}

/** The first problem of the section, `null` when it can be saved. */
export function proxyProblem(p: ProxyPrefs): string | null {
  const mode = p.mode ?? "system";
  const issue = proxyUrlProblem(mode, p.url ?? "") ?? userProblem(p.username ?? "") ?? noProxyProblem(p.noProxy ?? "");
  return issue ? `Proxy: ${issue}` : null;
}

/** Blank fields as the engine keeps them (none), the rest trimmed. */
export function normaliseProxy(p: ProxyPrefs): ProxyPrefs {
  const blank = (s: string | null | undefined) => (s && s.trim() ? s.trim() : null);
  return { mode: p.mode ?? "system", url: blank(p.url), username: blank(p.username), noProxy: blank(p.noProxy) };
}
