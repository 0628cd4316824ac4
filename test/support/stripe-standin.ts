/**
 * A local STAND-IN for Stripe's REST API (Stripe cannot run here): the two endpoints the web app
 * calls, checked the way Stripe documents them, and a page at the returned `url` standing in for
 * hosted Checkout. It refuses what Stripe would refuse: a missing or non-test secret key
 * (`Authorization: Bearer sk_test_...`), a body that is not form-encoded, a Checkout Session
 * without mode=subscription, line_items[0][price], success_url/cancel_url, or a subscriber link
 * (client_reference_id or metadata[subscriber_id]). Every request it accepted is listed at
 * GET /__requests for the test to inspect.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { freePort } from "../../scripts/lib/processes";

export interface RecordedStripeRequest {
  path: string;
  authorization: string;
  idempotencyKey: string | null;
  form: Record<string, string>;
}

export interface RunningStripeStandIn {
  url: string;
  secretKey: string;
  close(): Promise<void>;
}

function stripeError(status: number, message: string, param?: string) {
  return { status, body: { error: { type: "invalid_request_error", message, ...(param ? { param } : {}) } } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startStripeStandIn(): Promise<RunningStripeStandIn> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const secretKey = `sk_test_standin_${crypto.randomUUID().replace(/-/g, "")}`;
  const accepted: RecordedStripeRequest[] = [];

  const handle = async (req: IncomingMessage): Promise<{ status: number; body: unknown; html?: string }> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && path === "/__requests") return { status: 200, body: accepted };
    if (req.method === "GET" && path.startsWith("/pay/")) {
      return { status: 200, body: null, html: `<!DOCTYPE html><title>Stripe Checkout (stand-in)</title><h1>Stripe Checkout stand-in</h1><p id="session">${path.slice(5)}</p>` };
    }
    if (req.method !== "POST") return stripeError(404, `Unrecognized request URL (${req.method}: ${path}).`);
    const auth = req.headers.authorization ?? "";
    if (!/^Bearer sk_test_\S+$/.test(auth)) return stripeError(401, "Invalid API Key provided (expected a Bearer sk_test_ key).");
    if (auth !== `Bearer ${secretKey}`) return stripeError(401, "Invalid API Key provided.");
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers["content-type"] ?? "")) return stripeError(400, "Stripe expects a form-encoded body.");
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const record = { path, authorization: auth, idempotencyKey: (req.headers["idempotency-key"] as string | undefined) ?? null, form };

    if (path === "/v1/checkout/sessions") {
      if (form.mode !== "subscription") return stripeError(400, "mode must be subscription here.", "mode");
      if (!form["line_items[0][price]"]?.startsWith("price_")) return stripeError(400, "Missing line_items[0][price].", "line_items");
      if (!form["line_items[0][quantity]"]) return stripeError(400, "Missing line_items[0][quantity].", "line_items");
      for (const f of ["success_url", "cancel_url"]) if (!/^https?:\/\//.test(form[f] ?? "")) return stripeError(400, `Not a valid URL: ${f}.`, f);
      if (!form.client_reference_id && !form["metadata[subscriber_id]"]) return stripeError(400, "No subscriber link (client_reference_id or metadata).");
      accepted.push(record);
      const id = `cs_test_${crypto.randomUUID().replace(/-/g, "")}`;
      return { status: 200, body: { id, object: "checkout.session", mode: "subscription", client_reference_id: form.client_reference_id ?? null, url: `${url}/pay/${id}` } };
    }
    if (path === "/v1/billing_portal/sessions") {
      if (!form.customer?.startsWith("cus_")) return stripeError(400, "Missing customer.", "customer");
      accepted.push(record);
      const id = `bps_${crypto.randomUUID().replace(/-/g, "")}`;
      return { status: 200, body: { id, object: "billing_portal.session", customer: form.customer, url: `${url}/pay/${id}` } };
    }
    return stripeError(404, `Unrecognized request URL (POST: ${path}).`);
  };

  const server: Server = createServer((req, res) => {
    handle(req).then(
      (r) => {
        if (r.html) res.writeHead(r.status, { "content-type": "text/html" }).end(r.html);
        else res.writeHead(r.status, { "content-type": "application/json" }).end(JSON.stringify(r.body));
      },
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url, secretKey, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
