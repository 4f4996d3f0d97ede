// The connection check's report (`connection_check`, the engine's `doctor`) as the checklist
// shows it. Pure helpers, tested in checkup.test.ts.

import type { Report, Step, StepName, StepVerdict } from "./types";

const TITLES: Record<StepName, string> = {
  keyring: "System keyring",
  host: "API host",
  secret: "Secret",
  round_trip: "1-byte upload",
};

const MARKS: Record<StepVerdict, { mark: string; label: string }> = {
  pass: { mark: "✓", label: "passed" },
  warn: { mark: "!", label: "works, with a caveat" },
  fail: { mark: "✗", label: "failed" },
  skip: { mark: "–", label: "not tried" },
};

export function stepTitle(name: StepName): string {
  return TITLES[name];
}

export function verdictMark(verdict: StepVerdict): { mark: string; label: string } {
  return MARKS[verdict];
}

/** One line that sums the report up, for the top of the checklist. */
export function headline(report: Report): string {
  const failed = report.steps.filter((s) => s.verdict === "fail");
  if (failed.length > 0) {
    return `${failed.map((s) => stepTitle(s.name)).join(", ")}: failed. See what to do below.`;
  }
  return report.steps.some((s) => s.verdict === "warn") ? "Connected, with a caveat." : "Everything works.";
}

/** The step's timing, when it has one worth showing. */
export function timing(step: Step): string | null {
  return step.millis == null ? null : `${step.millis} ms`;
}
