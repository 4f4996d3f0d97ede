import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_MEANINGS, isErrorCode } from "./generated/codes";
import { normaliseError, UNAVAILABLE } from "./api";

describe("error codes", () => {
  it("the generated list is the engine's: each code once, each with a meaning", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(Object.keys(ERROR_MEANINGS).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ["file.not_found", "template.invalid", "session.none", "sandbox.failed", "input.invalid"]) {
      expect(isErrorCode(code), code).toBe(true);
    }
    expect(isErrorCode("nope.invalid")).toBe(false);
  });

  it("the codes the UI makes itself are not the engine's", () => {
    const own = [UNAVAILABLE.code, normaliseError("x").code, normaliseError(new Error("x")).code];
    expect(own).toEqual(["tauri.unavailable", "app.error", "ui.exception"]);
    for (const code of own) expect(isErrorCode(code), code).toBe(false);
  });
});
