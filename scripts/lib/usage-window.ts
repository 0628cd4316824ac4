/**
 * The usage queue's delivery window: `max_batch_timeout` of the gateway-usage consumer, the
 * longest the queue gathers messages into one delivery (one consumer invocation, one D1
 * transaction: docs/metering.md, "The delivery window"). THE one place where local runs differ
 * from production:
 *
 *   production   wrangler.toml, 10 s: a subscriber seen in several batches of a delivery costs one
 *                hourly row written instead of one per batch; usage is up to ~10 s behind.
 *   local        1 s by default, for the dev stack (`npm run dev`, the end-to-end tests, the soak,
 *                the benchmark) and the workerd tests (vitest.workers.config.ts), which poll usage
 *                right after their requests and would otherwise wait up to 10 s each time.
 *
 * USAGE_DELIVERY_WINDOW_S (environment of whatever starts the dev stack or the workerd tests)
 * overrides the local value: whole seconds 0-60, or `production` for wrangler.toml's value as
 * deployed (what the benchmark should run with to measure production's D1 rows).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const USAGE_DELIVERY_WINDOW_ENV = "USAGE_DELIVERY_WINDOW_S";
/** The local default, seconds. */
export const LOCAL_USAGE_DELIVERY_WINDOW_S = 1;
const USAGE_QUEUE = "gateway-usage";

/** The consumer block of the usage queue in wrangler.toml (the key lines up to the next table). */
function consumerBlock(toml: string): { start: number; end: number; text: string } {
  const re = /^\[\[queues\.consumers\]\]\s*$/gm;
  for (let m = re.exec(toml); m; m = re.exec(toml)) {
    const start = m.index;
    const next = toml.slice(start + m[0].length).search(/^\[/m);
    const end = next < 0 ? toml.length : start + m[0].length + next;
    const text = toml.slice(start, end);
    if (new RegExp(`^queue = "${USAGE_QUEUE}"$`, "m").test(text)) return { start, end, text };
  }
  throw new Error(`wrangler.toml has no [[queues.consumers]] for ${USAGE_QUEUE}`);
}

function numberKey(block: string, key: string): number | undefined {
  const m = new RegExp(`^${key} = (\\d+)`, "m").exec(block);
  return m ? Number(m[1]) : undefined;
}

/** The window local runs use, in seconds: USAGE_DELIVERY_WINDOW_S, else 1 s. */
export function localUsageDeliveryWindow(root: string, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[USAGE_DELIVERY_WINDOW_ENV]?.trim();
  if (raw === undefined || raw === "") return LOCAL_USAGE_DELIVERY_WINDOW_S;
  if (raw === "production") return productionUsageDeliveryWindow(root);
  if (!/^\d+$/.test(raw) || Number(raw) > 60) throw new Error(`${USAGE_DELIVERY_WINDOW_ENV} must be whole seconds 0-60 or "production", not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** wrangler.toml's window (production's), in seconds. */
export function productionUsageDeliveryWindow(root: string): number {
  const seconds = numberKey(consumerBlock(readFileSync(join(root, "wrangler.toml"), "utf8")).text, "max_batch_timeout");
  if (seconds === undefined) throw new Error("wrangler.toml: the usage consumer has no max_batch_timeout");
  return seconds;
}

/** wrangler.toml's text with the usage consumer's window set to `seconds`. */
export function withUsageDeliveryWindow(toml: string, seconds: number): string {
  const { start, end, text } = consumerBlock(toml);
  const replaced = text.replace(/^max_batch_timeout = \d+.*$/m, `max_batch_timeout = ${seconds}`);
  if (replaced === text && numberKey(text, "max_batch_timeout") !== seconds) throw new Error("wrangler.toml: the usage consumer has no max_batch_timeout");
  return toml.slice(0, start) + replaced + toml.slice(end);
}

/**
 * The usage consumer as Miniflare's `queueConsumers` option with the local window: for
 * vitest-pool-workers, whose `miniflare` options replace the consumer wrangler.toml describes.
 */
export function localUsageConsumer(root: string, env: NodeJS.ProcessEnv = process.env) {
  const { text } = consumerBlock(readFileSync(join(root, "wrangler.toml"), "utf8"));
  const dlq = /^dead_letter_queue = "([^"]+)"/m.exec(text)?.[1];
  return {
    [USAGE_QUEUE]: {
      maxBatchSize: numberKey(text, "max_batch_size"),
      maxBatchTimeout: localUsageDeliveryWindow(root, env),
      maxRetries: numberKey(text, "max_retries"),
      deadLetterQueue: dlq,
    },
  };
}
