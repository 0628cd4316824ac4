// Epistula v2 request signing and verification (see /work/shared/protocol/README.md).
// Runtime-neutral: Uint8Array, TextEncoder, crypto.subtle and crypto.randomUUID only.
//
// Signed message: `${sha256_hex(body)}.${uuid}.${timestamp}.${signed_for}` (UTF-8), sr25519 with
// signing context "substrate", sent as `0x` + 128 hex digits.
import { verify as sr25519Verify } from "@scure/sr25519";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Sr25519Keypair } from "./keys";
import { prepareSigner, type PreparedSigner } from "./sr25519-signer";
import { ss58Decode } from "./ss58";
import type { ReplayGuard } from "./replay-guard";

export { ReplayGuard } from "./replay-guard";
export type { ReplayGuardOptions } from "./replay-guard";

export const EPISTULA_VERSION = "2";
export const EPISTULA_HEADERS = {
  version: "Epistula-Version",
  timestamp: "Epistula-Timestamp",
  uuid: "Epistula-Uuid",
  signedBy: "Epistula-Signed-By",
  signedFor: "Epistula-Signed-For",
  signature: "Epistula-Request-Signature",
} as const;
export const DEFAULT_SKEW_MS = 8000;

const utf8 = new TextEncoder();
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TIMESTAMP_RE = /^[0-9]{1,16}$/;
const SIGNATURE_RE = /^0x[0-9a-fA-F]{128}$/;

export function epistulaMessage(bodySha256Hex: string, uuid: string, timestampMs: number | string, signedFor: string): string {
  return `${bodySha256Hex}.${uuid}.${timestampMs}.${signedFor}`;
}

function toBytes(body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const bytes = typeof body === "string" ? utf8.encode(body) : body;
  // crypto.subtle wants an ArrayBuffer-backed view; copy only in the rare SharedArrayBuffer case.
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** Lowercase hex sha256 of the exact body bytes (strings are UTF-8 encoded). */
export async function sha256Hex(body: Uint8Array | string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", toBytes(body));
  return bytesToHex(new Uint8Array(digest));
}

function hexToBytes64(sig: string): Uint8Array {
  const out = new Uint8Array(64);
  for (let i = 0; i < 64; i++) out[i] = Number.parseInt(sig.slice(2 + i * 2, 4 + i * 2), 16);
  return out;
}

export type SignRequestOptions = {
  body: Uint8Array | string;
  signer: Sr25519Keypair;
  /** Receiver hotkey (SS58); "" only for broadcast. */
  signedFor: string;
  /** Clock override (ms since epoch). */
  now?: number;
  /** UUID override (tests); a fresh v4 otherwise. */
  uuid?: string;
};

/** Per-keypair signing precomputation (see sr25519-signer.ts): signing is on every miner call. */
const preparedSigners = new WeakMap<Sr25519Keypair, PreparedSigner>();

function preparedSigner(kp: Sr25519Keypair): PreparedSigner {
  let signer = preparedSigners.get(kp);
  if (!signer) {
    signer = prepareSigner(kp.secretKey, kp.publicKey);
    preparedSigners.set(kp, signer);
  }
  return signer;
}

/** Returns the six Epistula v2 headers for a request carrying exactly `body`. */
export async function signRequest(opts: SignRequestOptions): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(opts.now ?? Date.now()));
  const uuid = opts.uuid ?? crypto.randomUUID();
  const message = epistulaMessage(await sha256Hex(opts.body), uuid, timestamp, opts.signedFor);
  const bytes = utf8.encode(message);
  const signature = opts.signer.sign ? opts.signer.sign(bytes) : preparedSigner(opts.signer).sign(bytes);
  return {
    [EPISTULA_HEADERS.version]: EPISTULA_VERSION,
    [EPISTULA_HEADERS.timestamp]: timestamp,
    [EPISTULA_HEADERS.uuid]: uuid,
    [EPISTULA_HEADERS.signedBy]: opts.signer.ss58,
    [EPISTULA_HEADERS.signedFor]: opts.signedFor,
    [EPISTULA_HEADERS.signature]: `0x${bytesToHex(signature)}`,
  };
}

/** Verifies a raw sr25519 signature over `message`; never throws (malformed input = false). */
export function verifySignature(message: Uint8Array | string, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sr25519Verify(typeof message === "string" ? utf8.encode(message) : message, signature, publicKey);
  } catch {
    return false;
  }
}

/** Node's IncomingHttpHeaders fits the record form (lowercase keys, possibly arrays). */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export type VerifyOptions = {
  /** The receiver's own hotkey (SS58); Signed-For must equal it. */
  ownHotkey: string;
  now?: number;
  /** Allowed clock difference in both directions (default 8000 ms). */
  skewMs?: number;
  replay: ReplayGuard;
  /** When given, only these SS58 senders are accepted (e.g. validator-permit holders). */
  allowedSenders?: ReadonlySet<string>;
  /**
   * Accept an empty Signed-For (broadcast). Off by default: a miner serving inference must only
   * act on requests addressed to it, otherwise a request signed for any miner could be replayed
   * against all of them within the window.
   */
  allowBroadcast?: boolean;
};

export type EpistulaErrorCode =
  | "epistula_missing_header"
  | "epistula_bad_version"
  | "epistula_bad_timestamp"
  | "epistula_stale"
  | "epistula_broadcast_refused"
  | "epistula_wrong_receiver"
  | "epistula_bad_uuid"
  | "epistula_replay"
  | "epistula_bad_signer"
  | "epistula_bad_signature"
  | "epistula_sender_not_allowed";

export type VerifyFailure = { ok: false; status: 400 | 401 | 403; code: EpistulaErrorCode; message: string };
export type VerifySuccess = { ok: true; signedBy: string; uuid: string; timestampMs: number };
export type VerifyResult = VerifySuccess | VerifyFailure;

function fail(status: 400 | 401 | 403, code: EpistulaErrorCode, message: string): VerifyFailure {
  return { ok: false, status, code, message };
}

/** Single header value; undefined when absent, null when sent more than once (ambiguous). */
function readHeader(headers: HeaderSource, name: string): string | undefined | null {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  let value = headers[lower] ?? headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === lower) {
        value = headers[key];
        break;
      }
    }
  }
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  return value.length === 1 ? (value[0] ?? undefined) : null;
}

/**
 * Receiver-side checks in the spec's order: version, headers present, timestamp integer and within
 * skew, Signed-For is us, uuid not replayed, signature valid for Signed-By, optional sender list.
 * The uuid is recorded only after the signature verifies, so forgeries cannot burn uuids.
 */
export async function verifyRequest(headers: HeaderSource, body: Uint8Array | string, opts: VerifyOptions): Promise<VerifyResult> {
  const skewMs = opts.skewMs ?? DEFAULT_SKEW_MS;
  if (opts.replay.windowMs < skewMs) {
    throw new RangeError(`ReplayGuard windowMs (${opts.replay.windowMs}) must be >= skewMs (${skewMs})`);
  }
  const h = EPISTULA_HEADERS;
  const version = readHeader(headers, h.version);
  // An absent version almost always means "not signed at all": report it as a missing header.
  if (version === undefined) return fail(401, "epistula_missing_header", `missing ${h.version} header (request not signed)`);
  if (version !== EPISTULA_VERSION) return fail(400, "epistula_bad_version", `unsupported ${h.version}: expected "2"`);

  const timestamp = readHeader(headers, h.timestamp);
  const uuid = readHeader(headers, h.uuid);
  const signedBy = readHeader(headers, h.signedBy);
  const signedFor = readHeader(headers, h.signedFor);
  const signature = readHeader(headers, h.signature);
  const present: Array<[string, string | undefined | null]> = [
    [h.timestamp, timestamp],
    [h.uuid, uuid],
    [h.signedBy, signedBy],
    [h.signedFor, signedFor],
    [h.signature, signature],
  ];
  for (const [name, value] of present) {
    if (value === undefined) return fail(401, "epistula_missing_header", `missing ${name} header`);
    if (value === null) return fail(400, "epistula_missing_header", `${name} header sent more than once`);
  }
  // Narrowed by the loop above; TS cannot see through the tuple array.
  if (timestamp == null || uuid == null || signedBy == null || signedFor == null || signature == null) {
    return fail(401, "epistula_missing_header", "missing Epistula header");
  }

  if (!TIMESTAMP_RE.test(timestamp)) return fail(400, "epistula_bad_timestamp", `${h.timestamp} must be integer milliseconds`);
  const timestampMs = Number(timestamp);
  const now = opts.now ?? Date.now();
  if (timestampMs < now - skewMs) return fail(401, "epistula_stale", `request timestamp is ${now - timestampMs} ms old (max ${skewMs})`);
  if (timestampMs > now + skewMs) return fail(401, "epistula_stale", `request timestamp is ${timestampMs - now} ms in the future (max ${skewMs})`);

  if (signedFor === "") {
    if (!opts.allowBroadcast) return fail(403, "epistula_broadcast_refused", "broadcast requests (empty Signed-For) are not accepted here");
  } else if (signedFor !== opts.ownHotkey) {
    return fail(403, "epistula_wrong_receiver", "request is signed for a different hotkey");
  }

  if (!UUID_RE.test(uuid)) return fail(400, "epistula_bad_uuid", `${h.uuid} must be a UUID`);
  if (opts.replay.has(uuid, now)) return fail(401, "epistula_replay", "request uuid already used");

  let publicKey: Uint8Array;
  try {
    publicKey = ss58Decode(signedBy);
  } catch {
    return fail(401, "epistula_bad_signer", `${h.signedBy} is not a valid SS58 address`);
  }
  if (!SIGNATURE_RE.test(signature)) return fail(401, "epistula_bad_signature", `${h.signature} must be 0x + 128 hex digits`);
  const message = epistulaMessage(await sha256Hex(body), uuid, timestamp, signedFor);
  if (!verifySignature(message, hexToBytes64(signature), publicKey)) {
    return fail(401, "epistula_bad_signature", "signature does not verify for Signed-By");
  }

  // Atomic check-and-record: another request with this uuid may have passed while we awaited.
  if (!opts.replay.tryRecord(uuid, timestampMs, now)) return fail(401, "epistula_replay", "request uuid already used");
  if (opts.allowedSenders && !opts.allowedSenders.has(signedBy)) {
    return fail(403, "epistula_sender_not_allowed", "sender hotkey is not allowed to call this miner");
  }
  return { ok: true, signedBy, uuid, timestampMs };
}
