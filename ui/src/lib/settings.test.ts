import { describe, expect, it } from "vitest";
import rates from "./rates.fixtures.json";
import {
  APPLIES,
  describeRate,
  formProblems,
  historyProblem,
  problemOf,
  formatBandwidth,
  parallelProblem,
  parseBandwidth,
  parseRate,
  rateProblem,
  scheduleProblems,
  timeProblem,
} from "./settings";

describe("rates", () => {
  it("parse like the engine: binary suffixes, off, nothing below a byte", () => {
    expect(parseRate("512k")).toBe(512 * 1024);
    expect(parseRate("1.5M")).toBe(1_572_864);
    expect(parseRate(" 100 ")).toBe(100);
    expect(parseRate("OFF")).toBeNull();
    for (const bad of ["", "k", "-1M", "fast", "0", "0.1", "10 Mbit"]) expect(parseRate(bad)).toBeUndefined();
  });

  it("read as people say them", () => {
    expect(describeRate(512 * 1024)).toBe("524.3 kB/s");
    expect(describeRate(1_500_000)).toBe("1.5 MB/s");
    expect(describeRate(null)).toBe("no limit");
  });

  it("explain what is wrong", () => {
    expect(rateProblem("fast")).toBe('"fast" is not a rate: try 200k or 1.5 MB/s, or off');
    expect(rateProblem("fast", false)).toBe('"fast" is not a rate: try 200k or 1.5 MB/s');
    expect(rateProblem("")).toBe("give a rate: try 200k or 1.5 MB/s, or off");
    expect(rateProblem("off", false)).toMatch(/No limit/);
    expect(rateProblem("2M")).toBeNull();
  });
});

describe("schedule", () => {
  it("checks times and says which line is wrong", () => {
    expect(timeProblem("25:00")).toBe('"25:00" is not a time: HH:MM, 00:00 to 23:59');
    expect(timeProblem("8:5")).not.toBeNull();
    expect(timeProblem("8:05")).toBeNull();
    const { rows } = scheduleProblems([
      { day: "", time: "08:00", rate: "1M" },
      { day: "", time: "8:00", rate: "off" },
      { day: "Mon", time: "08:00", rate: "fast" },
    ]);
    expect(rows).toEqual([null, "starts at the same time as line 1", '"fast" is not a rate: try 200k or 1.5 MB/s, or off']);
    expect(scheduleProblems([]).all).toMatch(/at least one/);
  });

  it("formats the engine's spec and reads it back", () => {
    const b = {
      mode: "schedule" as const,
      rate: "",
      slots: [
        { day: "", time: "8:00", rate: "512k" },
        { day: "Sat", time: "00:00", rate: "off" },
      ],
    };
    expect(formatBandwidth(b)).toEqual({ spec: "08:00,512k Sat-00:00,off" });
    const back = parseBandwidth("08:00,512k Sat-00:00,off");
    expect(back.mode).toBe("schedule");
    expect(back.slots).toEqual([
      { day: "", time: "08:00", rate: "512k" },
      { day: "Sat", time: "00:00", rate: "off" },
    ]);
    expect(formatBandwidth(back)).toEqual({ spec: "08:00,512k Sat-00:00,off" });
  });

  it("no limit and one rate", () => {
    expect(parseBandwidth(null).mode).toBe("off");
    expect(parseBandwidth("off").mode).toBe("off");
    expect(parseBandwidth("10M")).toMatchObject({ mode: "always", rate: "10M" });
    expect(formatBandwidth({ mode: "off", rate: "x", slots: [] })).toEqual({ spec: null });
    expect(formatBandwidth({ mode: "always", rate: " 2M ", slots: [] })).toEqual({ spec: "2M" });
    expect(formatBandwidth({ mode: "always", rate: "lots", slots: [] })).toEqual({
      problem: '"lots" is not a rate: try 200k or 1.5 MB/s',
    });
    const bad = formatBandwidth({ mode: "schedule", rate: "", slots: [{ day: "", time: "24:00", rate: "1M" }] });
    expect(bad).toEqual({ problem: 'line 1: "24:00" is not a time: HH:MM, 00:00 to 23:59' });
  });
});

describe("parallel uploads", () => {
  it("is a whole number from 1 to 16", () => {
    expect(parallelProblem("4")).toBeNull();
    expect(parallelProblem("16")).toBeNull();
    for (const bad of ["0", "17", "2.5", "", "four"]) {
      expect(parallelProblem(bad)).toBe(`"${bad}" is not a whole number from 1 to 16`);
    }
  });
});

const fine = {
  parallel: "4",
  bandwidth: { mode: "off" as const, rate: "10M", slots: [] },
  historyDays: 30,
  proxy: { mode: "system" as const, url: null, username: null, noProxy: null },
};

describe("the form, field by field", () => {
  it("has nothing to say about a good form", () => {
    expect(formProblems(fine)).toEqual([]);
  });

  it("says what is wrong with a bandwidth of 'fast', by its field, as it is typed", () => {
    const problems = formProblems({ ...fine, bandwidth: { mode: "always", rate: "fast", slots: [] } });
    expect(problems).toEqual([
      { field: "bw-rate", label: "Bandwidth limit", problem: '"fast" is not a rate: try 200k or 1.5 MB/s' },
    ]);
    expect(problemOf(problems, "bw-rate")).toMatch(/not a rate: try 200k or 1\.5 MB\/s/);
    expect(problemOf(problems, "pref-parallel")).toBeNull();
  });

  it("lists every wrong field at once, in the page's order", () => {
    const problems = formProblems({
      parallel: "0",
      historyDays: -1,
      bandwidth: {
        mode: "schedule",
        rate: "",
        slots: [
          { day: "", time: "25:00", rate: "1M" },
          { day: "", time: "09:00", rate: "fast" },
        ],
      },
      proxy: { mode: "manual", url: "", username: "a:b", noProxy: "bad host!" },
    });
    expect(problems.map((p) => p.field)).toEqual([
      "pref-parallel",
      "pref-history",
      "bw-time-0",
      "bw-rate-1",
      "proxy-url",
      "proxy-user",
      "proxy-no-proxy",
    ]);
    expect(problems.map((p) => p.label)).toContain("Schedule line 2");
  });

  it("checks the rate with the engine's parser: each fixture accepted or refused alike", () => {
    for (const r of rates as { text: string; bytes?: number | null; refused?: boolean }[]) {
      const problems = formProblems({ ...fine, bandwidth: { mode: "schedule", rate: "", slots: [{ day: "", time: "08:00", rate: r.text }] } });
      expect(problemOf(problems, "bw-rate-0") !== null, JSON.stringify(r.text)).toBe(r.refused === true);
      // "Always limit to" takes a rate, never off.
      const always = formProblems({ ...fine, bandwidth: { mode: "always", rate: r.text, slots: [] } });
      expect(problemOf(always, "bw-rate") === null, JSON.stringify(r.text)).toBe(!r.refused && r.bytes !== null);
    }
  });

  it("takes history as a whole number of days, an empty field being wrong", () => {
    expect(historyProblem(0)).toBeNull();
    expect(historyProblem(36500)).toBeNull();
    for (const bad of [36501, 1.5, -1, null, "", "x"]) expect(historyProblem(bad)).not.toBeNull();
  });

  it("says changes apply on Save, and which apply later", () => {
    expect(APPLIES.page).toMatch(/apply when you press Save/);
    expect(APPLIES.page).not.toMatch(/as you type/);
    expect(APPLIES.conflict).toMatch(/next sign-in/);
  });
});
