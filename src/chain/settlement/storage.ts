// Typed access to the few storage items settlement reads. The project does not load the
// generated chain augmentation (Subtensor is not in @polkadot/api-augment), so entries are looked
// up by name and their codecs narrowed here, in one place, to the types the metadata declares.
import type { ApiPromise } from "@polkadot/api";
import type { ApiDecoration } from "@polkadot/api/types";
import type { Vec } from "@polkadot/types-codec";
import type { AccountInfo, EventRecord } from "@polkadot/types/interfaces";
import type { Codec } from "@polkadot/types/types";
import { ChainDecodeError } from "../errors";

export type At = ApiDecoration<"promise"> | ApiPromise;

export async function readStorage(at: At, pallet: string, item: string, ...args: unknown[]): Promise<Codec> {
  const entry = at.query[pallet]?.[item];
  if (!entry) throw new ChainDecodeError(`runtime has no storage ${pallet}.${item}`);
  return entry(...args);
}

/** `System.Events` (declared `Vec<EventRecord>` by every Substrate runtime). */
export async function systemEvents(at: At): Promise<Vec<EventRecord>> {
  return (await readStorage(at, "system", "events")) as Vec<EventRecord>;
}

/** `System.Account(address)`: nonce and balances. */
export async function accountInfo(at: At, address: string): Promise<AccountInfo> {
  return (await readStorage(at, "system", "account", address)) as AccountInfo;
}

export function asNumber(codec: Codec, what: string): number {
  const v = codec.toPrimitive();
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^[0-9]+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  throw new ChainDecodeError(`${what}: expected a number, got ${JSON.stringify(v)}`);
}

export function asBigInt(codec: Codec, what: string): bigint {
  const v = codec.toPrimitive();
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^[0-9]+$/.test(v)) return BigInt(v);
  if (typeof v === "bigint") return v;
  throw new ChainDecodeError(`${what}: expected an integer, got ${JSON.stringify(v)}`);
}

export function asBool(codec: Codec, what: string): boolean {
  const v = codec.toPrimitive();
  if (typeof v === "boolean") return v;
  throw new ChainDecodeError(`${what}: expected a bool, got ${JSON.stringify(v)}`);
}

/** An Option<number>: null when None. */
export function asOptionalNumber(codec: Codec, what: string): number | null {
  const v = codec.toPrimitive();
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  throw new ChainDecodeError(`${what}: expected an optional number, got ${JSON.stringify(v)}`);
}

export function asArray(codec: Codec, what: string): unknown[] {
  const v = codec.toPrimitive();
  if (Array.isArray(v)) return v;
  throw new ChainDecodeError(`${what}: expected a list, got ${JSON.stringify(v)}`);
}

export function toNumber(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^[0-9]+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  throw new ChainDecodeError(`${what}: expected a number, got ${JSON.stringify(v)}`);
}
