import { describe, expect, it } from "vitest";
import {
  describeRate,
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
    expect(rateProblem("fast")).toBe('"fast" is not a rate (e.g. 512k, 10M, off)');
    expect(rateProblem("")).toBe("Give a rate, e.g. 512k or 10M");
    expect(rateProblem("off", false)).toMatch(/No limit/);
    expect(rateProblem("2M")).toBeNull();
  });
});

describe("schedule", () => {
  it("checks times and says which line is wrong", () => {
    expect(timeProblem("25:00")).toBe('"25:00" is not a time (HH:MM, 00:00 to 23:59)');
    expect(timeProblem("8:5")).not.toBeNull();
    expect(timeProblem("8:05")).toBeNull();
    const { rows } = scheduleProblems([
      { day: "", time: "08:00", rate: "1M" },
      { day: "", time: "8:00", rate: "off" },
      { day: "Mon", time: "08:00", rate: "fast" },
    ]);
    expect(rows).toEqual([null, "Starts at the same time as line 1", '"fast" is not a rate (e.g. 512k, 10M, off)']);
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
      problem: '"lots" is not a rate (e.g. 512k, 10M)',
    });
    const bad = formatBandwidth({ mode: "schedule", rate: "", slots: [{ day: "", time: "24:00", rate: "1M" }] });
    expect(bad).toEqual({ problem: 'Line 1: "24:00" is not a time (HH:MM, 00:00 to 23:59)' });
  });
});

describe("parallel uploads", () => {
  it("is a whole number from 1 to 16", () => {
    expect(parallelProblem("4")).toBeNull();
    expect(parallelProblem("16")).toBeNull();
    for (const bad of ["0", "17", "2.5", "", "four"]) {
      expect(parallelProblem(bad)).toBe("Parallel uploads: use a whole number from 1 to 16");
    }
  });
});
