// Submitting an extrinsic and waiting for its inclusion, with failures decoded to the pallet error
// key (`section.name`). Used by dev/test subnet set-up now and by weight setting later.
// Needs a subscription-capable provider (WebSocket): inclusion is reported through a subscription.
import type { ApiPromise } from "@polkadot/api";
import type { AddressOrPair, SubmittableExtrinsic } from "@polkadot/api/types";
import type { DispatchError, EventRecord } from "@polkadot/types/interfaces";
import type { Codec } from "@polkadot/types/types";
import { ChainUnavailableError, ExtrinsicFailedError } from "./errors";
import { withTimeout } from "./timeout";

export type Inclusion = { blockHash: string; events: EventRecord[] };

/** Decodes a DispatchError to `section.name` (module errors) or its kind, plus the error docs. */
export function describeDispatchError(api: ApiPromise, error: DispatchError): { error: string; docs: string } {
  if (error.isModule) {
    const meta = api.registry.findMetaError(error.asModule);
    return { error: `${meta.section}.${meta.name}`, docs: meta.docs.join(" ").trim() };
  }
  if (error.isToken) return { error: `Token.${error.asToken.type}`, docs: "" };
  if (error.isArithmetic) return { error: `Arithmetic.${error.asArithmetic.type}`, docs: "" };
  if (error.isTransactional) return { error: `Transactional.${error.asTransactional.type}`, docs: "" };
  return { error: error.type, docs: "" };
}

function callName(tx: SubmittableExtrinsic<"promise">): string {
  return `${tx.method.section}.${tx.method.method}`;
}

/**
 * Signs, submits and resolves once the extrinsic is in a block. Rejects with ExtrinsicFailedError
 * when its dispatch failed, including a failure inside `sudo.sudo` (reported only in the Sudid
 * event, the extrinsic itself succeeds), and with the RPC error when the pool refuses it
 * (e.g. `1010: Invalid Transaction`).
 */
export async function submitAndWait(
  api: ApiPromise,
  tx: SubmittableExtrinsic<"promise">,
  signer: AddressOrPair,
  opts: { timeoutMs?: number } = {},
): Promise<Inclusion> {
  const call = callName(tx);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let unsubscribe: (() => void) | undefined;
  let settled = false;
  const included = new Promise<Inclusion>((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, (result) => {
      const { status, dispatchError, events } = result;
      if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new ExtrinsicFailedError(`Pool.${status.type}`, call));
        return;
      }
      // Finalized counts too: polkadot-js keeps only the LAST update that arrives before the
      // subscription id, so with instant block building (chopsticks) InBlock can be lost.
      if (!status.isInBlock && !status.isFinalized) return;
      if (dispatchError) {
        const { error, docs } = describeDispatchError(api, dispatchError);
        reject(new ExtrinsicFailedError(error, call, docs));
        return;
      }
      for (const { event } of events) {
        const sudoError = event.section === "sudo" && event.method === "Sudid" ? errOf(event.data[0]) : undefined;
        if (sudoError) {
          const { error, docs } = describeDispatchError(api, api.registry.createType("DispatchError", sudoError.toU8a()));
          reject(new ExtrinsicFailedError(error, `sudo(${describeInner(tx)})`, docs));
          return;
        }
      }
      resolve({ blockHash: (status.isInBlock ? status.asInBlock : status.asFinalized).toHex(), events });
    })
      .then((unsub) => {
        // The subscription handle can arrive after the outcome: release it at once then.
        if (settled) unsub();
        else unsubscribe = unsub;
      })
      .catch(reject);
  });
  try {
    return await withTimeout(included, timeoutMs, () => new ChainUnavailableError(`${call} not included within ${timeoutMs} ms`, undefined));
  } finally {
    settled = true;
    unsubscribe?.();
  }
}

function describeInner(tx: SubmittableExtrinsic<"promise">): string {
  const inner = tx.method.args[0];
  if (inner && "section" in inner && "method" in inner) return `${String(inner.section)}.${String(inner.method)}`;
  return callName(tx);
}

/** The Err payload of a `Result` codec, or undefined (Ok, or not a Result). */
function errOf(value: Codec | undefined): Codec | undefined {
  if (!value || !("isErr" in value) || value.isErr !== true || !("asErr" in value)) return undefined;
  const err: unknown = value.asErr;
  return typeof err === "object" && err !== null && "toU8a" in err ? (err as Codec) : undefined;
}
