/**
 * The operator console (operator session: admin token sign-in):
 *   GET  /console                      miners per model: score components, circuit, share; chain sync
 *   GET  /console/settlements          settlements per epoch: work, weights, payouts, extrinsics
 *   GET  /console/subscribers | POST /console/subscribers/:id/block {blocked: 1|0}
 *   GET  /console/plans | POST /console/plans/:id {plan fields}
 *   /console/prices                    per-model prices (console-prices.tsx)
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Child } from "hono/jsx";
import { limitsStub } from "../../billing/limits-do";
import { listPlans, planJson, updatePlan } from "../../billing/plans";
import { webWorkerConfig } from "../../config/web";
import { listSettlements } from "../../settlements/read";
import { GatewayError, notFound } from "../../errors";
import type { JsonObject } from "../../lib/json";
import { chainSyncState, listSubscribers, minersByModel, setBlocked } from "../../web/operator";
import { registerConsolePriceRoutes } from "./console-prices";
import { int, pct, short, usd, when } from "./views/format";
import { CsrfField, Layout } from "./views/layout";
import type { WebEnv } from "./web-env";

function requireOperator(): MiddlewareHandler<WebEnv> {
  return async function requireOperatorMiddleware(c, next) {
    if (c.req.path === "/console/login") return next();
    if (c.var.session?.role !== "operator") {
      if (c.req.method === "GET") return c.redirect("/console/login", 303);
      throw new GatewayError(401, "authentication_error", "signed_out", "Operator session required.");
    }
    await next();
  };
}

const page = (c: Context<WebEnv>, title: string, path: string, body: Child) =>
  c.html(
    <Layout title={title} session={c.var.session} csrf={c.var.csrf} path={path}>
      {body}
    </Layout>,
  );

const f2 = (x: number) => x.toFixed(2);

export function registerConsoleRoutes(web: Hono<WebEnv>): void {
  web.use("/console", requireOperator());
  web.use("/console/*", requireOperator());

  web.get("/console", async (c) => {
    const [models, sync] = await Promise.all([minersByModel(c.env, webWorkerConfig(c.env).minerCacheTtlMs), chainSyncState(c.env.DB)]);
    return page(c, "Miners", "/console", (
      <>
        <section class="card">
          <h2>Chain sync</h2>
          {sync.length === 0 ? (
            <p class="muted">No metagraph sync recorded (static miners only, or NETUID unset).</p>
          ) : (
            <div class="table-wrap">
              <table id="chain-sync">
                <thead><tr><th>Netuid</th><th>Block</th><th>Synced</th><th class="num">Kept</th><th class="num">Skipped</th><th>Last error</th></tr></thead>
                <tbody>
                  {sync.map((s) => (
                    <tr><td>{s.netuid}</td><td>{s.block}</td><td>{when(s.syncedAt)}</td><td class="num">{s.kept}</td><td class="num">{s.skipped}</td><td>{s.lastErrorAt && s.lastErrorAt > s.syncedAt ? `${s.lastErrorCode} at ${when(s.lastErrorAt)}` : "—"}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        {models.map((m) => (
          <section class="card" data-model={m.model}>
            <h2>{m.model}</h2>
            <div class="table-wrap">
              <table class="miners">
                <thead>
                  <tr><th>Miner</th><th>UID</th><th>Circuit</th><th class="num">Share</th><th class="num">Score</th><th class="num">Success</th><th class="num">Speed</th><th class="num">Honesty</th><th class="num">Canary</th><th class="num">Prior</th><th class="num">Load</th></tr>
                </thead>
                <tbody>
                  {m.miners.map((s) => (
                    <tr data-hotkey={s.miner.hotkey}>
                      <td data-label="Miner"><code title={s.miner.hotkey}>{short(s.miner.hotkey, 10)}</code></td>
                      <td data-label="UID">{s.miner.uid}</td>
                      <td data-label="Circuit"><span class={`pill ${s.circuit === "closed" ? "ok" : "bad"}`}>{s.circuit}</span></td>
                      <td data-label="Share" class="num">{pct(s.share)}</td>
                      <td data-label="Score" class="num score">{f2(s.components.score)}</td>
                      <td data-label="Success" class="num">{f2(s.components.success)}</td>
                      <td data-label="Speed" class="num">{f2(s.components.speed)}</td>
                      <td data-label="Honesty" class="num">{f2(s.components.honesty)}</td>
                      <td data-label="Canary" class="num">{f2(s.components.canary)}</td>
                      <td data-label="Prior" class="num">{f2(s.components.prior)}</td>
                      <td data-label="Load" class="num">{f2(s.components.load)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        ))}
      </>
    ));
  });

  web.get("/console/settlements", async (c) => {
    const { data } = await listSettlements(c.env.DB, { limit: 20 });
    return page(c, "Settlements", "/console/settlements", data.length === 0 ? <p class="muted">No settlement has run yet.</p> : (
      <>
        {data.map((s) => (
          <section class="card settlement" data-settlement={s.id}>
            <h2>Epoch {s.epoch} · netuid {s.netuid}</h2>
            <p class="muted">
              Weights <span class="pill">{s.weights.status}</span> ({s.weights.mode}) · payouts <span class="pill">{s.payouts.status}</span> · window {when(s.window.start)} → {when(s.window.end)} · revenue {usd(s.payouts.revenue_micro_usd)}
            </p>
            <div class="table-wrap">
              <table>
                <thead><tr><th>Miner</th><th>UID</th><th class="num">Requests</th><th class="num">Quality</th><th class="num">Work</th><th class="num">Weight</th><th class="num">Payout (rao)</th><th>Payout</th></tr></thead>
                <tbody>
                  {s.miners.map((m) => (
                    <tr>
                      <td data-label="Miner"><code title={m.hotkey}>{short(m.hotkey, 10)}</code></td>
                      <td data-label="UID">{m.uid ?? "—"}</td>
                      <td data-label="Requests" class="num">{"requests_counted" in m ? int(m.requests_counted) : "sealed"}</td>
                      <td data-label="Quality" class="num">{"quality" in m ? pct(m.quality.quality_ppm / 1e6) : "sealed"}</td>
                      <td data-label="Work" class="num">{"work" in m ? m.work : "sealed"}</td>
                      <td data-label="Weight" class="num">{"weight" in m ? m.weight : "sealed"}</td>
                      <td data-label="Payout" class="num">{"payout_rao" in m ? m.payout_rao : "—"}</td>
                      <td data-label="Status">{"payout_status" in m ? m.payout_status : "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {[...s.weights.extrinsics, ...s.payouts.extrinsics].length > 0 ? (
              <ul class="extrinsics">
                {[...s.weights.extrinsics, ...s.payouts.extrinsics].map((x) => (
                  <li><code>{x.kind}</code> {short(x.tx_hash, 18)} <span class="pill">{x.status}</span>{x.block !== null ? ` block ${x.block}` : ""}</li>
                ))}
              </ul>
            ) : null}
          </section>
        ))}
      </>
    ));
  });

  web.get("/console/subscribers", async (c) => {
    const subs = await listSubscribers(c.env.DB);
    return page(c, "Subscribers", "/console/subscribers", (
      <div class="table-wrap">
        <table id="subscribers">
          <thead><tr><th>Subscriber</th><th>E-mail</th><th>Plan</th><th class="num">Live keys</th><th>Created</th><th>Status</th><th></th></tr></thead>
          <tbody>
            {subs.map((s) => (
              <tr data-subscriber={s.id}>
                <td data-label="Subscriber">{s.name}<br /><code class="muted">{s.id}</code></td>
                <td data-label="E-mail">{s.email ?? "—"}</td>
                <td data-label="Plan">{s.planId ?? "default"}</td>
                <td data-label="Keys" class="num">{s.keys}</td>
                <td data-label="Created">{when(s.createdAt)}</td>
                <td data-label="Status">{s.disabledAt ? <span class="pill bad">blocked</span> : <span class="pill ok">active</span>}</td>
                <td>
                  <form method="post" action={`/console/subscribers/${s.id}/block`}>
                    <CsrfField csrf={c.var.csrf} />
                    <input type="hidden" name="blocked" value={s.disabledAt ? "0" : "1"} />
                    <button type="submit" class={s.disabledAt ? undefined : "danger"}>{s.disabledAt ? "Unblock" : "Block"}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    ));
  });

  web.post("/console/subscribers/:id/block", async (c) => {
    const form = await c.req.parseBody();
    const id = c.req.param("id");
    if (!(await setBlocked(c.env.DB, id, form.blocked === "1"))) throw notFound("No such subscriber.", "subscriber_not_found");
    await limitsStub(c.env, id).refresh();
    return c.redirect("/console/subscribers", 303);
  });

  web.get("/console/plans", async (c) => {
    const plans = (await listPlans(c.env.DB)).map(planJson);
    const fields = [
      ["price_micro_usd", "Price / month (µUSD)"],
      ["allowance_micro_usd", "Allowance (µUSD)"],
      ["requests_per_minute", "Requests / min"],
      ["tokens_per_minute", "Tokens / min"],
      ["concurrent_requests", "Concurrent"],
    ] as const;
    return page(c, "Plans", "/console/plans", (
      <section class="cards">
        {plans.map((p) => (
          <form method="post" action={`/console/plans/${p.id}`} class="card stack" data-plan={p.id}>
            <CsrfField csrf={c.var.csrf} />
            <h2>{p.id}</h2>
            <label>Name <input name="name" value={p.name} required maxlength={80} /></label>
            {fields.map(([key, label]) => (
              <label>{label} <input name={key} type="number" min={0} step={1} value={String(p[key])} required /></label>
            ))}
            <label>Stripe price id <input name="stripe_price_id" value={p.stripe_price_id ?? ""} placeholder="price_…" /></label>
            <button type="submit" class="primary">Save {p.id}</button>
          </form>
        ))}
      </section>
    ));
  });

  web.post("/console/plans/:id", async (c) => {
    const form = await c.req.parseBody();
    const body: JsonObject = {};
    if (typeof form.name === "string" && form.name.trim() !== "") body.name = form.name.trim();
    for (const key of ["price_micro_usd", "allowance_micro_usd", "requests_per_minute", "tokens_per_minute", "concurrent_requests"]) {
      const v = form[key];
      // The same validation as PATCH /admin/plans/:id: a non-integer is refused there, not coerced here.
      if (typeof v === "string" && v.trim() !== "") body[key] = /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
    }
    if (typeof form.stripe_price_id === "string") body.stripe_price_id = form.stripe_price_id.trim() === "" ? null : form.stripe_price_id.trim();
    await updatePlan(c.env.DB, c.req.param("id"), body);
    return c.redirect("/console/plans", 303);
  });

  registerConsolePriceRoutes(web);
}
