// IP address text <-> the chain's u128 form. Subtensor stores an axon's address as a u128:
// IPv4 in the low 32 bits, IPv6 as the full 128 bits (big-endian value).

const U32_MAX = 0xffff_ffffn;
const U128_MAX = (1n << 128n) - 1n;

export type ParsedIp = { version: 4; bytes: Uint8Array } | { version: 6; bytes: Uint8Array };

/** Dotted-quad text of a 32-bit value. */
export function formatIpv4(value: bigint): string {
  if (value < 0n || value > U32_MAX) throw new RangeError("IPv4 value out of range");
  const n = Number(value);
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".");
}

/**
 * RFC 5952 text of a 128-bit value: lowercase, no leading zeros, the longest run (>= 2) of zero
 * groups replaced by `::` (the first one on a tie). Embedded IPv4 stays in hex (`::ffff:102:304`),
 * which is also how WHATWG URL serialises IPv6 hosts, so axon URLs are canonical.
 */
export function formatIpv6(value: bigint): string {
  if (value < 0n || value > U128_MAX) throw new RangeError("IPv6 value out of range");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));

  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/** Address text of the chain's (ip u128, ip_type) pair; null when the pair is not a valid address. */
export function ipFromU128(ip: bigint, ipType: number): string | null {
  if (ipType === 4) return ip >= 0n && ip <= U32_MAX ? formatIpv4(ip) : null;
  if (ipType === 6) return ip >= 0n && ip <= U128_MAX ? formatIpv6(ip) : null;
  return null;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? "";
    // Strict decimal: leading zeros are refused because some parsers read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseGroups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  for (const g of text.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    groups.push(Number.parseInt(g, 16));
  }
  return groups;
}

function parseIpv6(text: string): Uint8Array | null {
  let body = text;
  let tailV4: Uint8Array | null = null;
  // A trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
  const lastColon = body.lastIndexOf(":");
  if (lastColon >= 0 && body.includes(".", lastColon)) {
    tailV4 = parseIpv4(body.slice(lastColon + 1));
    if (!tailV4) return null;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? "");
    const tail = parseGroups(halves[1] ?? "");
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(body);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Parses dotted IPv4 or IPv6 text (no brackets, no zone id). Returns null for anything else. */
export function parseIp(text: string): ParsedIp | null {
  if (text.includes(":")) {
    const bytes = parseIpv6(text);
    return bytes ? { version: 6, bytes } : null;
  }
  const bytes = parseIpv4(text);
  return bytes ? { version: 4, bytes } : null;
}

/** The chain's u128 form of an address (inverse of ipFromU128), for serve_axon. */
export function ipToU128(text: string): { ip: bigint; ipType: 4 | 6 } {
  const parsed = parseIp(text);
  if (!parsed) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  let value = 0n;
  for (const b of parsed.bytes) value = (value << 8n) | BigInt(b);
  return { ip: value, ipType: parsed.version };
}
