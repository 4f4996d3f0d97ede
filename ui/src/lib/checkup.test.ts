import { describe, expect, it } from "vitest";
import { headline, stepTitle, timing, verdictMark } from "./checkup";
import type { Report, Step } from "./types";

const step = (name: Step["name"], verdict: Step["verdict"], millis: number | null = null): Step => ({
  name,
  verdict,
  summary: "",
  next: null,
  code: null,
  millis,
});

const report = (...steps: Step[]): Report => ({ service: "trusted_twin", baseUrl: "http://h", steps });

describe("the connection checklist", () => {
  it("names every step", () => {
    expect(["keyring", "host", "secret", "round_trip"].map((n) => stepTitle(n as Step["name"]))).toEqual([
      "System keyring",
      "API host",
      "Secret",
      "1-byte upload",
    ]);
  });

  it("sums up: failures by name, else a caveat, else all good", () => {
    expect(headline(report(step("keyring", "pass"), step("host", "fail"), step("secret", "skip")))).toBe(
      "API host: failed. See what to do below.",
    );
    expect(headline(report(step("host", "pass"), step("secret", "warn")))).toBe("Connected, with a caveat.");
    expect(headline(report(step("host", "pass"), step("round_trip", "skip")))).toBe("Everything works.");
  });

  it("marks each verdict differently and shows timings when there are some", () => {
    const marks = new Set(["pass", "warn", "fail", "skip"].map((v) => verdictMark(v as Step["verdict"]).mark));
    expect(marks.size).toBe(4);
    expect(timing(step("host", "pass", 12))).toBe("12 ms");
    expect(timing(step("host", "skip"))).toBeNull();
  });
});
