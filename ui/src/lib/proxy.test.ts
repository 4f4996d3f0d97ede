import { describe, expect, it } from "vitest";
import { noProxyProblem, normaliseProxy, proxyProblem, proxyUrlProblem } from "./proxy";

describe("proxy settings", () => {
  it("asks for a URL only in manual mode, and refuses what the engine refuses", () => {
    expect(proxyUrlProblem("system", "")).toBeNull();
    expect(proxyUrlProblem("manual", "")).toMatch(/Give the proxy's URL/);
    expect(proxyUrlProblem("manual", "http://proxy.corp:3128")).toBeNull();
    expect(proxyUrlProblem("manual", "socks5h://127.0.0.1:1080")).toBeNull();
    expect(proxyUrlProblem("manual", "ftp://proxy:21")).toMatch(/use http/);
    expect(proxyUrlProblem("manual", "proxy.corp:3128")).toMatch(/use http|not a proxy URL/);
    expect(proxyUrlProblem("manual", "http://alice:pw@proxy:3128")).toMatch(/own fields/);
    expect(proxyUrlProblem("manual", "http://proxy:3128/path")).toMatch(/only scheme/);
  });

  it("checks the no-proxy list entry by entry", () => {
    expect(noProxyProblem(" .corp.example, 10.0.0.0/8, ::1, [::1], intranet, *")).toBeNull();
    expect(noProxyProblem("good.host, bad host")).toBe('"bad host" is not a host name, IP address, CIDR range or *');
  });

  it("names the section in its problem and keeps blanks as none", () => {
    expect(proxyProblem({ mode: "manual", url: "", username: null, noProxy: null })).toMatch(/^Proxy: /);
    expect(proxyProblem({ mode: "off", url: null, username: "a:b", noProxy: null })).toMatch(/':'/);
    expect(proxyProblem({ mode: "system", url: null, username: null, noProxy: null })).toBeNull();
    expect(normaliseProxy({ mode: "manual", url: " http://p:1 ", username: " ", noProxy: "" })).toEqual({
      mode: "manual",
      url: "http://p:1",
      username: null,
      noProxy: null,
    });
  });
});
