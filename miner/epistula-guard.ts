// The miner's door: every request (GET /v1/models with its empty body included) must carry a
// valid Epistula v2 signature addressed to this miner's hotkey. Broadcasts are refused.
import type { IncomingHttpHeaders } from "node:http";
import { ReplayGuard, verifyRequest, type VerifyFailure } from "../src/protocol/epistula";
import { HttpError, type OpenAiErrorType } from "./http";

export type EpistulaGuard = (headers: IncomingHttpHeaders, body: Uint8Array) => Promise<{ signedBy: string }>;

const ERROR_TYPE: Record<VerifyFailure["status"], OpenAiErrorType> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
};

export function createEpistulaGuard(opts: {
  ownHotkey: string;
  skewMs: number;
  validators?: readonly string[];
  clock?: () => number;
}): EpistulaGuard {
  const clock = opts.clock ?? Date.now;
  const replay = new ReplayGuard({ windowMs: opts.skewMs, clock });
  const allowedSenders = opts.validators && opts.validators.length > 0 ? new Set(opts.validators) : undefined;
  return async function epistulaGuard(headers, body) {
    const result = await verifyRequest(headers, body, {
      ownHotkey: opts.ownHotkey,
      now: clock(),
      skewMs: opts.skewMs,
      replay,
      allowedSenders,
    });
    if (!result.ok) throw new HttpError(result.status, result.message, ERROR_TYPE[result.status], result.code);
    return { signedBy: result.signedBy };
  };
}
