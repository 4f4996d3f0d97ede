// Pure helpers about the session, shown in the header.

import type { Session } from "./types";
import { shortId } from "./queue";
import { serviceTitle } from "./services";

/** Host part of a base URL ("https://rest.trustedtwin.com/" → "rest.trustedtwin.com"). */
export function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host || baseUrl;
  } catch {
    return baseUrl.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  }
}

/** "Local sandbox", "rest.trustedtwin.com · 1e7a8c4d…90ab" for a Trusted Twin account, or the
 * service, host and what its check read ("Redivis · redivis.com · table a.b.c"). */
export function accountLabel(s: Session): string {
  if (s.kind === "sandbox") return "Local sandbox";
  const host = hostOf(s.baseUrl);
  if (s.kind !== "trusted_twin") return `${serviceTitle(s.kind)} · ${host} · ${s.account}`;
  return s.account ? `${host} · ${shortId(s.account)}` : host;
}

/** Full details for a tooltip. */
export function accountTitle(s: Session): string {
  const parts = [serviceTitle(s.kind), s.baseUrl, `account ${s.account}`];
  if (s.profile) parts.push(`profile ${s.profile}`);
  if (s.unproven) parts.push(s.unproven);
  return parts.join("\n");
}
