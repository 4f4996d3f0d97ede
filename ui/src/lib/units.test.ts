import { describe, expect, it } from "vitest";
import fixtures from "./units.fixtures.json";
import { formatProgress } from "./queue";
import { describeRate } from "./settings";
import { formatBytes, formatRate } from "./units";

// The same numbers read the same everywhere: the queue (sizes, progress, speed), the Docs tab
// (formatBytes), Settings (describeRate) and, through the engine's size::human, the tray and
// the CLI (crates/engine/src/size.rs reads these fixtures too).
describe("one unit convention", () => {
  for (const f of fixtures) {
    it(`${f.bytes} bytes`, () => {
      expect(formatBytes(f.bytes)).toBe(f.size);
      expect(formatRate(f.bytes)).toBe(f.rate);
      expect(formatProgress(f.bytes, 0)).toBe(f.size);
      if (f.bytes > 0) expect(describeRate(f.bytes)).toBe(f.rate);
    });
  }
  it("has nothing to say about what is not a size", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
    expect(formatRate(Number.NaN)).toBe("—");
    expect(describeRate(null)).toBe("no limit");
  });
});

// The Settings form reads a rate as the engine does (crates/engine/src/bandwidth.rs reads the
// same fixtures): what one accepts the other accepts, to the byte.
import rates from "./rates.fixtures.json";
import { parseRate } from "./settings";

describe("one size parser", () => {
  for (const r of rates as { text: string; bytes?: number | null; refused?: boolean }[]) {
    it(JSON.stringify(r.text), () => {
      expect(parseRate(r.text)).toBe(r.refused ? undefined : r.bytes);
    });
  }
});
