import { describe, expect, it } from "vitest";
import { nameSource, twinLabel, twinName, twinOption, twinTitle, withTwinNames, type TwinNames } from "./twins";

const A = "3c9f2a71-5b0e-4d8a-9f61-2e7d4c1b8a90";
const B = "0f0f2a71-5b0e-4d8a-9f61-2e7d4c1b8a91";
const C = "ffffffff-5b0e-4d8a-9f61-2e7d4c1b8a92";

const names: TwinNames = {
  [A]: { nickname: "Mine", serverName: "Lab scans" },
  [B]: { nickname: null, serverName: "Lab scans" },
  [C]: { nickname: "  ", serverName: null },
};

describe("twinLabel", () => {
  it("prefers the nickname, then the server's name, then the UUID", () => {
    expect(twinLabel(A, names)).toBe("Mine");
    expect(twinLabel(B, names)).toBe("Lab scans");
    expect(twinLabel(C, names)).toBe(C);
    expect(twinLabel(C, {})).toBe(C);
  });

  it("shortens a bare UUID only when asked, never a name", () => {
    expect(twinLabel(C, names, true)).toBe("ffffffff…8a92");
    expect(twinLabel(A, names, true)).toBe("Mine");
  });

  it("finds a Twin typed in capitals", () => {
    expect(twinLabel(A.toUpperCase(), names)).toBe("Mine");
  });

  it("says where the name comes from", () => {
    expect([A, B, C].map((id) => nameSource(id, names))).toEqual(["nickname", "server", null]);
    expect(twinName(C, names)).toBeNull();
  });
});

describe("the UUID stays at hand", () => {
  it("in the title and the list line", () => {
    expect(twinTitle(A, names)).toBe(`Mine — Twin ${A}`);
    expect(twinTitle(C, names)).toBe(`Twin ${C}`);
    expect(twinOption(B, names)).toBe("Lab scans · 0f0f2a71…8a91");
    expect(twinOption(C, names)).toBe(C);
  });
});

describe("withTwinNames", () => {
  it("names each known Twin in a message and leaves the rest", () => {
    const text = `Uploaded to ${A}; ${C} not found; ${B.toUpperCase()} too`;
    expect(withTwinNames(text, names)).toBe(`Uploaded to “Mine”; ${C} not found; “Lab scans” too`);
    expect(withTwinNames("no Twin here", names)).toBe("no Twin here");
  });
});
