/**
 * The admin API's request bodies, one definition each: the admin routes and the billing modules
 * validate with them (parseBody) and the OpenAPI document describes them. Their wording is the
 * admin API's own: one message per field saying what it must be.
 */
import { arr, asTypeError, int, nul, obj, oneOf, opt, optStrict, req, str, type Wording } from "../schema";

/** $1e9 in micro-USD: below 2^53, above anything sold. */
export const MAX_MONEY = 1_000_000_000_000_000;
export const MAX_PLAN_LIMIT = 1_000_000_000_000;
/** $1M per million tokens: far above any real price, far below 2^53. */
export const MAX_PRICE = 1_000_000_000_000;
/** $1M per grant. */
export const MAX_GRANT = 1_000_000_000_000;
export const PLAN_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** What an imported key must look like (issueKey checks the same for every caller). */
export const IMPORTED_KEY = /^sk-\S{5,}$/;

const says = (message: (param: string) => string, code?: string): Wording["refused"] => ({ message, code });

const price = req(int(0, MAX_PRICE, { refused: says((p) => `'${p}' must be an integer number of micro-USD per million tokens between 0 and ${MAX_PRICE}.`) }), { missing: "refused" });

export const PRICE_INPUT = obj({
  model: req(str({ nonEmpty: true, description: "A model id, or '*' for the default price." })),
  input_micro_usd_per_mtok: price,
  output_micro_usd_per_mtok: price,
  cached_input_micro_usd_per_mtok: price,
});

export const CREDIT_GRANT = obj({
  amount_micro_usd: req(
    int(-MAX_GRANT, MAX_GRANT, { nonZero: true, refused: says((p) => `'${p}' must be a non-zero integer between -${MAX_GRANT} and ${MAX_GRANT}.`), description: "Negative takes credit back." }),
    { missing: "refused" },
  ),
  note: opt(str()),
});

const minerField = (what: string) => says((p) => `'${p}' must be ${what}.`, "invalid_request");

export const STATIC_MINER = obj({
  hotkey: req(str({ nonEmpty: true, refused: minerField("an SS58 address"), description: "SS58 address" }), { missing: "refused" }),
  uid: req(int(0, Number.MAX_SAFE_INTEGER, { refused: minerField("a non-negative integer") }), { missing: "refused" }),
  axon_url: req(str({ pattern: /^https?:\/\/[^\s/]+\/*$/, format: "uri", refused: minerField("an http(s) origin like http://127.0.0.2:8091") }), { missing: "refused" }),
  models: req(arr(str({ nonEmpty: true }), { refused: minerField("an array of model ids") }), { missing: "refused" }),
});

export const PUT_MINERS = obj({ miners: req(arr(STATIC_MINER), { missing: "type" }) });

export const NEW_SUBSCRIBER = obj({
  plan_id: opt(str({ description: "Its plan (default: DEFAULT_PLAN_ID)." })),
  id: opt(str()),
  name: req(str({ nonEmpty: true })),
  email: opt(str()),
  external_id: opt(str({ description: "The JWT `sub`." })),
});

export const NEW_KEY = obj({
  name: opt(str()),
  key: opt(str({ pattern: IMPORTED_KEY, invalid: () => "An imported key must start with 'sk-', have at least 8 characters and no spaces.", invalidCode: "invalid_request", description: "Import an existing key." })),
});

const limit = (what: string) => int(0, MAX_PLAN_LIMIT, { refused: says((p) => `'${p}' must be an integer between 0 and ${MAX_PLAN_LIMIT}.`), description: what });
const money = (what: string) => int(0, MAX_MONEY, { refused: says((p) => `'${p}' must be an integer between 0 and ${MAX_MONEY}.`), description: what });

/** A plan's fields: all required but the price when creating (`complete`), any of them when editing. */
function planFields(complete: boolean) {
  const need = complete ? req : optStrict;
  return {
    name: complete ? req(str({ nonEmpty: true })) : opt(str()),
    price_micro_usd: optStrict(money("Monthly price (display; Stripe charges).")),
    allowance_micro_usd: need(money("Spend allowed per period.")),
    requests_per_minute: need(limit("0: unlimited.")),
    tokens_per_minute: need(limit("0: unlimited.")),
    concurrent_requests: need(limit("0: unlimited.")),
    models: optStrict(oneOf([nul(), arr(str({ nonEmpty: true }))], { refused: asTypeError("null or an array of model ids"), description: "Allowed model ids (a trailing * matches a prefix); null: all." })),
    stripe_price_id: optStrict(oneOf([nul(), str({ nonEmpty: true })], { refused: asTypeError("null or a Stripe price id") })),
  };
}

export const PLAN_INPUT = obj({
  id: req(str({ nonEmpty: true, pattern: PLAN_ID, invalid: () => "'id' must be 1-64 characters of a-z, 0-9, '_' and '-'." })),
  ...planFields(true),
});

export const PLAN_PATCH = obj(planFields(false));

export const SUBSCRIBER_PLAN = obj({
  plan_id: req(oneOf([str(), nul()], { refused: asTypeError("a plan id, or null for the default plan"), description: "null: back to DEFAULT_PLAN_ID." }), { missing: "refused" }),
});

export const CHAIN_SCHEDULED = obj({ cron: req(str({ nonEmpty: true, description: "A cron expression of wrangler.chain.toml's triggers." })) });
