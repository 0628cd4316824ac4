/**
 * The subscriber's pages, each scoped to the session's subscriber:
 *   GET  /app/keys | POST /app/keys {name}    list; create (the key is in this one answer only)
 *   POST /app/keys/:id/revoke
 *   GET  /app/usage | GET /app/usage.csv
 *   GET  /app/plan | POST /app/plan/checkout {plan_id} | POST /app/plan/portal
 *   GET  /app/quickstart
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { and, eq } from "drizzle-orm";
import { REVOKED_KEYS_HEADER, revokedKeysHeaderValue } from "../../auth/revocation-notice";
import { limitsStub } from "../../billing/limits-do";
import { getPlan, listPlans } from "../../billing/plans";
import { getSubscriber, issueKey, revokeKey, type IssuedKey } from "../../billing/subscribers";
import { database } from "../../db/client";
import { apiKeys } from "../../db/schema";
import { GatewayError, notFound } from "../../errors";
import { minerSnapshot } from "../../routing/directory";
import { keysWithUsage, latestRequests, usageCsv, usageSeries } from "../../web/dashboard";
import { takeRateToken } from "../../web/rate-limit";
import { createCheckoutSession, createPortalSession, stripeCustomerOf } from "../../web/stripe-checkout";
import { randomToken } from "../../web/tokens";
import { formField } from "./guards";
import { KeysPage, NewKeyNotice } from "./views/keys";
import { Layout } from "./views/layout";
import { PlanPage } from "./views/plan";
import { QuickstartPage } from "./views/quickstart";
import { UsagePage } from "./views/usage";
import type { WebEnv } from "./web-env";

/** Pages of /app need a subscriber session; anyone else goes to the sign-in page. */
function requireSubscriberSession(): MiddlewareHandler<WebEnv> {
  return async function requireSubscriberSessionMiddleware(c, next) {
    if (c.var.session?.role !== "subscriber") {
      if (c.req.method === "GET") return c.redirect("/auth/login", 303);
      throw new GatewayError(401, "authentication_error", "signed_out", "Your session has ended. Sign in again.");
    }
    await next();
  };
}

function subscriberId(c: Context<WebEnv>): string {
  const s = c.var.session;
  if (s?.role !== "subscriber") throw new GatewayError(401, "authentication_error", "signed_out", "Your session has ended. Sign in again.");
  return s.subscriberId;
}

async function keysPage(c: Context<WebEnv>, extra: { issued?: IssuedKey; error?: string; status?: 200 | 201 | 429 }) {
  const keys = await keysWithUsage(c.env.DB, subscriberId(c));
  return c.html(
    <Layout title="API keys" session={c.var.session} csrf={c.var.csrf} path="/app/keys">
      {extra.issued ? <NewKeyNotice issued={extra.issued} /> : null}
      <KeysPage keys={keys} csrf={c.var.csrf} error={extra.error} />
    </Layout>,
    extra.status ?? 200,
  );
}

export function registerAppRoutes(web: Hono<WebEnv>): void {
  web.use("/app", requireSubscriberSession());
  web.use("/app/*", requireSubscriberSession());

  web.get("/app", (c) => c.redirect("/app/keys"));

  web.get("/app/keys", (c) => keysPage(c, {}));

  web.post("/app/keys", async (c) => {
    const id = subscriberId(c);
    const name = (await formField(c, "name", 80)) ?? null;
    if (!(await takeRateToken(c.env.DB, "key_create", id, c.var.web.keysPerHour))) {
      return keysPage(c, { error: `You can create ${c.var.web.keysPerHour} keys per hour. Try again later.`, status: 429 });
    }
    const issued = await issueKey(c.env.DB, id, { name });
    return keysPage(c, { issued, status: 201 });
  });

  web.post("/app/keys/:id/revoke", async (c) => {
    const keyId = c.req.param("id");
    // Only the owner's keys: another subscriber's key id is "not found", exactly like a made-up one.
    const own = await database(c.env.DB).select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.id, keyId), eq(apiKeys.subscriberId, subscriberId(c)))).get();
    if (!own) throw notFound("No such key.", "key_not_found");
    const revoked = await revokeKey(c.env.DB, keyId);
    // The gateway isolate forwarding this answer drops the key from its cache at once (revocation-notice.ts).
    c.header(REVOKED_KEYS_HEADER, revokedKeysHeaderValue([revoked.keyHash]));
    return c.redirect("/app/keys", 303);
  });

  web.get("/app/usage", async (c) => {
    const id = subscriberId(c);
    const [series, recent, report] = await Promise.all([usageSeries(c.env.DB, id, 30), latestRequests(c.env.DB, id, 50), limitsStub(c.env, id).report(id)]);
    const spend = {
      planName: report.plan.name,
      periodCostMicroUsd: report.periodCostMicroUsd,
      allowanceMicroUsd: report.status.allowance.limitMicroUsd,
      remainingMicroUsd: report.status.allowance.remainingMicroUsd,
      resetsAt: new Date(report.status.allowance.resetAt).toISOString(),
    };
    return c.html(
      <Layout title="Usage" session={c.var.session} csrf={c.var.csrf} path="/app/usage" scripts={["/static/vendor/chart.umd.js", "/static/usage-chart.js"]}>
        <UsagePage series={series} spend={spend} recent={recent} />
      </Layout>,
    );
  });

  web.get("/app/usage.csv", async (c) => {
    const since = Date.now() - 90 * 86_400_000;
    const csv = await usageCsv(c.env.DB, subscriberId(c), since);
    return c.body(csv, 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="usage.csv"' });
  });

  web.get("/app/plan", async (c) => {
    const id = subscriberId(c);
    const [report, plans, customer] = await Promise.all([limitsStub(c.env, id).report(id), listPlans(c.env.DB), stripeCustomerOf(c.env.DB, id)]);
    const notice =
      c.req.query("checkout") === "success"
        ? "Thank you. Your plan changes as soon as Stripe confirms the payment."
        : c.req.query("checkout") === "cancelled"
          ? "Checkout was cancelled; nothing changed."
          : undefined;
    const current = {
      id: report.plan.id,
      name: report.plan.name,
      source: report.planSource,
      allowanceMicroUsd: report.plan.allowanceMicroUsd,
      requestsPerMinute: report.plan.requestsPerMinute,
      tokensPerMinute: report.plan.tokensPerMinute,
      concurrentRequests: report.plan.concurrentRequests,
      models: report.plan.models,
      resetsAt: new Date(report.status.allowance.resetAt).toISOString(),
    };
    // Only plans people can buy (a Stripe price), plus the current one.
    const offered = plans.filter((p) => p.stripePriceId !== null || p.id === current.id);
    return c.html(
      <Layout title="Plan" session={c.var.session} csrf={c.var.csrf} path="/app/plan">
        <PlanPage current={current} plans={offered} csrf={c.var.csrf} canCheckout={c.var.web.stripe !== null} hasCustomer={customer !== null} notice={notice} />
      </Layout>,
    );
  });

  web.post("/app/plan/checkout", async (c) => {
    const stripe = c.var.web.stripe;
    if (!stripe) throw new GatewayError(404, "not_found_error", "payments_not_configured", "Payments are not configured on this gateway.");
    const id = subscriberId(c);
    const planId = (await formField(c, "plan_id", 64)) ?? "";
    const plan = await getPlan(c.env.DB, planId);
    if (!plan.stripePriceId) throw new GatewayError(400, "invalid_request_error", "plan_not_for_sale", `The plan '${plan.name}' cannot be bought online.`, "plan_id");
    const [sub, customerId] = await Promise.all([getSubscriber(c.env.DB, id), stripeCustomerOf(c.env.DB, id)]);
    const url = await createCheckoutSession(
      stripe,
      {
        subscriberId: id,
        priceId: plan.stripePriceId,
        email: sub.email,
        customerId,
        successUrl: `${c.var.base}/app/plan?checkout=success`,
        cancelUrl: `${c.var.base}/app/plan?checkout=cancelled`,
      },
      `checkout:${id}:${plan.id}:${randomToken(9)}`,
    );
    return c.redirect(url, 303);
  });

  web.post("/app/plan/portal", async (c) => {
    const stripe = c.var.web.stripe;
    if (!stripe) throw new GatewayError(404, "not_found_error", "payments_not_configured", "Payments are not configured on this gateway.");
    const id = subscriberId(c);
    const customer = await stripeCustomerOf(c.env.DB, id);
    if (!customer) throw new GatewayError(400, "invalid_request_error", "no_billing_account", "You have no paid subscription to manage yet.");
    return c.redirect(await createPortalSession(stripe, customer, `${c.var.base}/app/plan`, `portal:${id}:${randomToken(9)}`), 303);
  });

  web.get("/app/quickstart", async (c) => {
    const snapshot = await minerSnapshot(c.env.DB, 5_000);
    const model = [...snapshot.byModel.keys()].sort().find((m) => !m.includes("embed")) ?? "your-model-id";
    return c.html(
      <Layout title="Quick start" session={c.var.session} csrf={c.var.csrf} path="/app/quickstart">
        <QuickstartPage base={c.var.base} model={model} />
      </Layout>,
    );
  });
}
