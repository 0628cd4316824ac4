import { describe, expect, it } from "vitest";
import { formatIpv6, ipFromU128, ipToU128, parseIp } from "../../../src/chain/ip";

const v6 = (text: string): bigint => ipToU128(text).ip;

describe("formatIpv6 (RFC 5952)", () => {
  it.each([
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // tie: the first run
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"], // the longest run, not the first
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["FE80:0:0:0:0:0:0:ABCD", "fe80::abcd"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["::ffff:1.2.3.4", "::ffff:102:304"], // hex, as WHATWG URL serialises it
  ])("%s -> %s", (input, expected) => {
    expect(formatIpv6(v6(input))).toBe(expected);
  });
});

describe("ipFromU128", () => {
  it.each([
    [0x7f000002n, 4, "127.0.0.2"],
    [0xffffffffn, 4, "255.255.255.255"],
    [0x1_0000_0000n, 4, null],
    [1n, 6, "::1"],
    [1n, 5, null],
  ] as const)("%s type %s -> %s", (ip, type, expected) => {
    expect(ipFromU128(ip, type)).toBe(expected);
  });
});

describe("parseIp", () => {
  it.each(["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "", "::1::", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "1:2:3:4:5:6:7::8", "[::1]", "fe80::1%eth0"])(
    "refuses %j",
    (text) => {
      expect(parseIp(text)).toBeNull();
    },
  );

  it("round-trips through the chain's u128 form", () => {
    for (const text of ["0.0.0.0", "8.8.8.8", "127.0.0.2", "2606:4700::1111", "::", "::ffff:8.8.8.8", "1:2:3:4:5:6:7:8"]) {
      const { ip, ipType } = ipToU128(text);
      expect(parseIp(ipFromU128(ip, ipType) ?? "")).toEqual(parseIp(text));
    }
  });
});
