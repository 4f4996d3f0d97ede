import { describe, expect, it } from "vitest";
import { cutAtWord, presentError, SHORT, trailingGroup } from "./errors";
import { ERROR_MEANINGS } from "./generated/codes";

const CHAIN =
  "error sending request: client error (Connect): error:0A000086:SSL routines:tls_post_process_server_certificate:" +
  "certificate verify failed:../ssl/statem/statem_clnt.c:1889: (self-signed certificate)";

describe("presentError", () => {
  it("shows a short message whole, with no details", () => {
    const m = "/home/a/gone.txt: No such file or directory (os error 2)";
    expect(presentError("file.not_found", m)).toEqual({ lead: m, detail: null });
  });

  it("puts a trailing technical cause behind Details, nested parentheses and all", () => {
    const m = `GET /account/whoami: the server's certificate is not trusted, or the secure connection failed (${CHAIN})`;
    const shown = presentError("network.tls", m);
    expect(shown.lead).toBe("GET /account/whoami: the server's certificate is not trusted, or the secure connection failed");
    expect(shown.detail).toBe(m);
    expect(shown.lead).not.toContain("SSL routines");
  });

  it("keeps parentheses that belong to the plain part", () => {
    const m =
      "GET /x: nothing is listening at that address: is the server (or the sandbox) running, is the port right? " +
      "(error sending request: client error (Connect): tcp connect error: Connection refused (os error 111))";
    expect(presentError("network.refused", m).lead).toBe(
      "GET /x: nothing is listening at that address: is the server (or the sandbox) running, is the port right?",
    );
  });

  it("falls back on the code's meaning when the plain part says too little", () => {
    const body = `server error 500: ${"<html>".repeat(60)}`;
    const shown = presentError("server.error", body);
    expect(shown).toEqual({ lead: ERROR_MEANINGS["server.error"], detail: body });
    const dump = `x (${"a".repeat(SHORT)})`;
    expect(presentError("network.tls", dump).lead).toBe(ERROR_MEANINGS["network.tls"]);
  });

  it("a long message of no engine code is cut at a word, and a multi-line one always has details", () => {
    const long = `${"word ".repeat(60)}end`;
    const shown = presentError("ui.exception", long);
    expect(shown.lead.endsWith("…")).toBe(true);
    expect(shown.lead.length).toBeLessThanOrEqual(SHORT + 1);
    expect(shown.detail).toBe(long);
    expect(presentError("app.error", "first line\nsecond").detail).toBe("first line\nsecond");
    expect(presentError("app.error", "first line\nsecond").lead).toBe("first line");
  });
});

describe("helpers", () => {
  it("trailingGroup finds the outer group that ends the text", () => {
    expect(trailingGroup("a (b (c)) d")).toBe(-1);
    expect(trailingGroup("a (b (c))")).toBe(2);
    expect(trailingGroup("a) b)")).toBe(-1);
    expect(trailingGroup("no group")).toBe(-1);
  });

  it("cutAtWord leaves short text alone and ends a cut one with an ellipsis", () => {
    expect(cutAtWord("short", 10)).toBe("short");
    expect(cutAtWord("one two three four", 12)).toBe("one two…");
  });
});
