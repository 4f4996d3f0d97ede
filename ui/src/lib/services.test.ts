import { describe, expect, it } from "vitest";
import { SERVICES, destinationNoun, dropTitle, eachFile, secretFor, serviceForm, serviceTitle } from "./services";

describe("service sign-in forms", () => {
  it("covers the four services once each", () => {
    expect(SERVICES.map((s) => s.kind).sort()).toEqual(["hbr", "inspect", "redivis", "trusted_twin"]);
  });

  it("asks Redivis and Inspect for the destination their check reads, and nobody else", () => {
    const asks = SERVICES.filter((s) => s.destinationLabel !== null).map((s) => s.kind);
    expect(asks.sort()).toEqual(["inspect", "redivis"]);
  });

  it("joins HBR's AccessKey pair and refuses half of one", () => {
    const hbr = serviceForm("hbr");
    expect(secretFor(hbr, " LTAI5 ", "s3cr:et")).toEqual({ secret: "LTAI5:s3cr:et" });
    expect(secretFor(hbr, "", "x")).toEqual({ error: "AccessKey ID is empty" });
    expect(secretFor(hbr, "a:b", "x")).toEqual({ error: 'AccessKey ID cannot contain ":"' });
    expect(secretFor(hbr, "id", "  ")).toEqual({ error: "AccessKey secret is empty" });
  });

  it("sends other secrets as typed", () => {
    expect(secretFor(serviceForm("redivis"), "", " tok ")).toEqual({ secret: " tok " });
    expect(serviceTitle("sandbox")).toBe("Local sandbox");
    expect(serviceTitle("inspect")).toBe("Screening Eagle Inspect");
  });
});

describe("destinations", () => {
  it("names each service's destination and what a file becomes", () => {
    expect(destinationNoun("sandbox")).toBe("Twin");
    expect(destinationNoun("redivis")).toBe("Table");
    expect(eachFile("inspect")).toBe("each file is attached to the asset");
    expect(dropTitle("hbr")).toBe("Drop files here to upload them to Alibaba Cloud HBR");
    expect(dropTitle("trusted_twin")).toContain("as Docs");
  });
});
