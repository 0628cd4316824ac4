import { describe, expect, it } from "vitest";
import { checkAxon } from "../../../src/chain/axon-guard";
import type { Axon } from "../../../src/chain/types";

const axon = (ip: string, port = 8091): Axon => ({ ip, port, ipType: ip.includes(":") ? 6 : 4, version: 1, protocol: 4 });

// [ip, port, refused without allowPrivate (reason fragment) | null, refused even with allowPrivate]
const TABLE: ReadonlyArray<readonly [string, number, string | null, boolean]> = [
  // Public addresses pass.
  ["8.8.8.8", 8091, null, false],
  ["1.1.1.1", 1, null, false],
  ["2606:4700:4700::1111", 65535, null, false],
  ["::ffff:8.8.8.8", 80, null, false], // IPv4-mapped public
  ["64:ff9b::808:808", 80, null, false], // NAT64 of 8.8.8.8
  ["2002:808:808::1", 80, null, false], // 6to4 of 8.8.8.8
  // Ports.
  ["8.8.8.8", 0, "port 0", true],
  ["8.8.8.8", 65536, "port 65536", true],
  // Private / loopback / link-local / CGNAT.
  ["10.1.2.3", 80, "private address 10.0.0.0/8", false],
  ["172.16.0.1", 80, "172.16.0.0/12", false],
  ["172.31.255.255", 80, "172.16.0.0/12", false],
  ["172.32.0.1", 80, null, false],
  ["192.168.1.1", 80, "192.168.0.0/16", false],
  ["100.64.0.1", 80, "CGNAT", false],
  ["100.127.255.255", 80, "CGNAT", false],
  ["100.128.0.1", 80, null, false],
  ["127.0.0.1", 80, "loopback", false],
  ["127.0.0.2", 80, "loopback", false],
  ["169.254.169.254", 80, "link-local", false], // cloud metadata endpoint
  ["::1", 80, "loopback", false],
  ["fe80::1", 80, "link-local", false],
  ["febf::1", 80, "link-local", false],
  ["fc00::1", 80, "unique local", false],
  ["fd12:3456::1", 80, "unique local", false],
  // Reserved, documentation, benchmarking.
  ["192.0.0.8", 80, "192.0.0.0/24", false],
  ["192.0.2.1", 80, "documentation", false],
  ["198.51.100.1", 80, "documentation", false],
  ["203.0.113.9", 80, "documentation", false],
  ["198.18.0.1", 80, "benchmarking", false],
  ["198.19.255.255", 80, "benchmarking", false],
  ["198.20.0.1", 80, null, false],
  ["240.0.0.1", 80, "reserved", false],
  ["2001:db8::1", 80, "documentation", false],
  ["3fff::1", 80, "3fff::/20", false],
  ["3fff:fff:ffff::1", 80, "3fff::/20", false],
  ["3fff:1000::1", 80, null, false],
  ["2001::1", 80, "2001::/23", false],
  ["4000::1", 80, "outside 2000::/3", false],
  ["::7f00:1", 80, "IPv4-compatible", false],
  // Embedded IPv4 destinations are judged by the IPv4 rules.
  ["::ffff:127.0.0.1", 80, "IPv4-mapped loopback", false],
  ["::ffff:10.0.0.1", 80, "IPv4-mapped private", false],
  ["64:ff9b::a00:1", 80, "NAT64 private", false],
  ["2002:c0a8:101::1", 80, "6to4 private", false],
  ["::ffff:224.0.0.1", 80, "IPv4-mapped multicast", true],
  // Never callable, even in development.
  ["0.0.0.0", 80, "unspecified", true],
  ["0.1.2.3", 80, "this network", true],
  ["::", 80, "unspecified", true],
  ["224.0.0.1", 80, "multicast", true],
  ["239.255.255.250", 80, "multicast", true],
  ["255.255.255.255", 80, "broadcast", true],
  ["ff02::1", 80, "multicast", true],
];

describe("checkAxon", () => {
  it.each(TABLE)("%s:%s", (ip, port, reason, always) => {
    const strict = checkAxon(axon(ip, port), { allowPrivate: false });
    const dev = checkAxon(axon(ip, port), { allowPrivate: true });
    if (reason === null) {
      expect(strict.ok).toBe(true);
    } else {
      expect(strict).toEqual({ ok: false, reason: expect.stringContaining(reason) });
    }
    expect(dev.ok).toBe(!always);
  });

  it("builds canonical URLs", () => {
    expect(checkAxon(axon("8.8.8.8", 8091), { allowPrivate: false })).toEqual({ ok: true, url: "http://8.8.8.8:8091" });
    expect(checkAxon(axon("2606:4700:4700:0:0:0:0:1111", 443), { allowPrivate: false })).toEqual({
      ok: true,
      url: "http://[2606:4700:4700::1111]:443",
    });
    expect(checkAxon(axon("127.0.0.2", 9000), { allowPrivate: true })).toEqual({ ok: true, url: "http://127.0.0.2:9000" });
  });

  it("refuses an address that does not match its ip_type or does not parse", () => {
    expect(checkAxon({ ...axon("8.8.8.8"), ipType: 6 }, { allowPrivate: true })).toEqual({ ok: false, reason: expect.stringContaining("ip_type 6") });
    expect(checkAxon({ ...axon("8.8.8.8"), ip: "example.com" }, { allowPrivate: true })).toEqual({ ok: false, reason: expect.stringContaining("unparseable") });
  });
});
