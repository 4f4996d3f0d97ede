// How an error's message is shown: a plain lead up front, and the long technical part (a
// connection's error chain, an OpenSSL dump, a server's body) behind "Details". Pure, tested
// in errors.test.ts.

import { ERROR_MEANINGS, isErrorCode } from "./generated/codes";

/** A message at most this long, on one line, is shown whole. */
export const SHORT = 140;

export type Shown = {
  /** What is read first: the message itself when short, else its plain part. */
  lead: string;
  /** The whole message, when the lead leaves part of it out; null when the lead is all of it. */
  detail: string | null;
};

/**
 * The trailing parenthesised group of `text` (the engine appends the technical cause as
 * " (…)", whose own parentheses nest): the index of its "(", or -1 when `text` does not end
 * with a balanced group.
 */
export function trailingGroup(text: string): number {
  if (!text.endsWith(")")) return -1;
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text[i];
    if (c === ")") depth++;
    else if (c === "(") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** `text` cut to at most `max` characters at a word boundary, with "…" when cut. */
export function cutAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, max);
  const space = room.lastIndexOf(" ");
  return `${(space > max / 2 ? room.slice(0, space) : room).replace(/[\s:;,.(-]+$/, "")}…`;
}

/**
 * Split an error's message into what is shown up front and what sits behind "Details".
 * A short one-line message is shown whole. A longer one shows its plain part: the text before
 * its trailing " (technical cause)" when that is long enough to say something, else the
 * code's meaning (for an engine code), else the message's start.
 */
export function presentError(code: string, message: string): Shown {
  const text = message.trim();
  if (text.length <= SHORT && !text.includes("\n")) return { lead: text, detail: null };
  const group = trailingGroup(text);
  const head = group > 0 ? text.slice(0, group).trim().replace(/[:;,]$/, "") : "";
  if (head.length >= 20 && !head.includes("\n")) return { lead: cutAtWord(head, 2 * SHORT), detail: text };
  if (isErrorCode(code)) return { lead: ERROR_MEANINGS[code], detail: text };
  return { lead: cutAtWord(text.split("\n")[0], SHORT), detail: text };
}
