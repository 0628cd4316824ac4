// Decides whether the gateway may call an axon published on chain. Anyone can publish any address,
// so without this the gateway could be pointed at its own infrastructure (SSRF). Addresses that no
// miner can legitimately use (unspecified, multicast, broadcast, "this network") are always refused;
// private, loopback and reserved ones only when `allowPrivate` (local development on 127.0.0.x).
import { formatIpv4, formatIpv6, parseIp } from "./ip";
import type { Axon } from "./types";

export type AxonCheck = { ok: true; url: string } | { ok: false; reason: string };
export type AxonGuardOptions = { allowPrivate: boolean };

/** How bad an address is: "never" refuses even with allowPrivate. */
type Verdict = { severity: "never" | "private"; reason: string } | null;

type V4Range = readonly [a: number, b: number, c: number, d: number, bits: number, severity: "never" | "private", reason: string];

// Special-purpose IPv4 registry (RFC 6890 and successors), most specific first where they overlap.
const V4_RANGES: readonly V4Range[] = [
  [255, 255, 255, 255, 32, "never", "broadcast address"],
  [0, 0, 0, 0, 32, "never", "unspecified address"],
  [0, 0, 0, 0, 8, "never", "'this network' range 0.0.0.0/8"],
  [224, 0, 0, 0, 4, "never", "multicast address"],
  [10, 0, 0, 0, 8, "private", "private address 10.0.0.0/8"],
  [172, 16, 0, 0, 12, "private", "private address 172.16.0.0/12"],
  [192, 168, 0, 0, 16, "private", "private address 192.168.0.0/16"],
  [100, 64, 0, 0, 10, "private", "shared (CGNAT) address 100.64.0.0/10"],
  [127, 0, 0, 0, 8, "private", "loopback address"],
  [169, 254, 0, 0, 16, "private", "link-local address"],
  [192, 0, 0, 0, 24, "private", "IETF protocol assignment 192.0.0.0/24"],
  [192, 0, 2, 0, 24, "private", "documentation address 192.0.2.0/24"],
  [198, 51, 100, 0, 24, "private", "documentation address 198.51.100.0/24"],
  [203, 0, 113, 0, 24, "private", "documentation address 203.0.113.0/24"],
  [198, 18, 0, 0, 15, "private", "benchmarking address 198.18.0.0/15"],
  [192, 88, 99, 0, 24, "private", "deprecated 6to4 relay anycast 192.88.99.0/24"],
  [240, 0, 0, 0, 4, "private", "reserved address 240.0.0.0/4"],
];

function v4Value(bytes: Uint8Array, offset = 0): number {
  return ((bytes[offset] ?? 0) * 0x100_0000 + ((bytes[offset + 1] ?? 0) << 16)) + ((bytes[offset + 2] ?? 0) << 8) + (bytes[offset + 3] ?? 0);
}

function inV4Range(value: number, r: V4Range): boolean {
  const [a, b, c, d, bits] = r;
  const base = a * 0x100_0000 + (b << 16) + (c << 8) + d;
  const size = 2 ** (32 - bits);
  return value >= base && value < base + size;
}

function classifyV4(bytes: Uint8Array, offset = 0): Verdict {
  const value = v4Value(bytes, offset);
  for (const r of V4_RANGES) {
    if (inV4Range(value, r)) return { severity: r[5], reason: r[6] };
  }
  return null;
}

/** True when the first `bits` bits of `bytes` equal those of `prefix`. */
function hasPrefix(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function embedded(v4: Verdict, how: string): Verdict {
  return v4 ? { severity: v4.severity, reason: `${how} ${v4.reason}` } : null;
}

function classifyV6(bytes: Uint8Array): Verdict {
  const zeros = (n: number): boolean => bytes.subarray(0, n).every((b) => b === 0);
  if (zeros(16)) return { severity: "never", reason: "unspecified address" };
  if (zeros(15) && bytes[15] === 1) return { severity: "private", reason: "loopback address" };
  // Addresses that carry an IPv4 destination are judged by that destination.
  if (zeros(10) && bytes[10] === 0xff && bytes[11] === 0xff) return embedded(classifyV4(bytes, 12), "IPv4-mapped");
  if (hasPrefix(bytes, [0x00, 0x64, 0xff, 0x9b], 96)) return embedded(classifyV4(bytes, 12), "NAT64");
  if (hasPrefix(bytes, [0x20, 0x02], 16)) return embedded(classifyV4(bytes, 2), "6to4");
  if (zeros(12)) return { severity: "private", reason: "deprecated IPv4-compatible address ::/96" };
  if (hasPrefix(bytes, [0xff], 8)) return { severity: "never", reason: "multicast address" };
  if (hasPrefix(bytes, [0xfe, 0x80], 10)) return { severity: "private", reason: "link-local address" };
  if (hasPrefix(bytes, [0xfc], 7)) return { severity: "private", reason: "unique local address fc00::/7" };
  if (hasPrefix(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return { severity: "private", reason: "documentation address 2001:db8::/32" };
  // RFC 9637 added a second documentation prefix, inside 2000::/3.
  if (hasPrefix(bytes, [0x3f, 0xff], 20)) return { severity: "private", reason: "documentation address 3fff::/20" };
  if (hasPrefix(bytes, [0x20, 0x01, 0x00, 0x00], 23)) return { severity: "private", reason: "IETF protocol assignment 2001::/23" };
  // Only 2000::/3 is allocated for global unicast; everything else left is reserved.
  if (!hasPrefix(bytes, [0x20], 3)) return { severity: "private", reason: "reserved address outside 2000::/3" };
  return null;
}

/** `{ ok: true, url }` when the gateway may call this axon, else the reason to log. */
export function checkAxon(axon: Axon, opts: AxonGuardOptions): AxonCheck {
  if (!Number.isInteger(axon.port) || axon.port < 1 || axon.port > 65535) {
    return { ok: false, reason: `port ${axon.port} outside 1-65535` };
  }
  const parsed = parseIp(axon.ip);
  if (!parsed) return { ok: false, reason: `unparseable ip ${JSON.stringify(axon.ip)}` };
  if (parsed.version !== axon.ipType) {
    return { ok: false, reason: `ip ${axon.ip} does not match ip_type ${axon.ipType}` };
  }
  const verdict = parsed.version === 4 ? classifyV4(parsed.bytes) : classifyV6(parsed.bytes);
  if (verdict && (verdict.severity === "never" || !opts.allowPrivate)) {
    return { ok: false, reason: `${verdict.reason} (${axon.ip})` };
  }
  // Re-format from the parsed bytes so the URL is canonical whatever text the caller passed.
  let value = 0n;
  for (const b of parsed.bytes) value = (value << 8n) | BigInt(b);
  const host = parsed.version === 6 ? `[${formatIpv6(value)}]` : formatIpv4(value);
  return { ok: true, url: `http://${host}:${axon.port}` };
}
