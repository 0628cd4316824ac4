import type { Plan } from "../../../db/schema";
import { int, usd } from "./format";
import { CsrfField } from "./layout";

export interface CurrentPlan {
  id: string;
  name: string;
  source: string;
  allowanceMicroUsd: number;
  requestsPerMinute: number;
  tokensPerMinute: number;
  concurrentRequests: number;
  models: string[] | null;
  resetsAt: string;
}

export function PlanPage(props: { current: CurrentPlan; plans: Plan[]; csrf: string; canCheckout: boolean; hasCustomer: boolean; notice?: string }) {
  const c = props.current;
  return (
    <>
      {props.notice ? <p class="notice-line" role="status">{props.notice}</p> : null}
      <section class="card" id="current-plan" data-plan-id={c.id}>
        <h2>
          Current plan: <span id="current-plan-name">{c.name}</span>
        </h2>
        <dl class="facts">
          <dt>Included spend per period</dt><dd>{usd(c.allowanceMicroUsd)}</dd>
          <dt>Requests per minute</dt><dd>{int(c.requestsPerMinute)}</dd>
          <dt>Tokens per minute</dt><dd>{int(c.tokensPerMinute)}</dd>
          <dt>Concurrent requests</dt><dd>{int(c.concurrentRequests)}</dd>
          <dt>Models</dt><dd>{c.models ? c.models.join(", ") : "all"}</dd>
          <dt>Period resets</dt><dd>{c.resetsAt.replace("T", " ").slice(0, 16)} UTC</dd>
        </dl>
        {props.hasCustomer && props.canCheckout ? (
          <form method="post" action="/app/plan/portal">
            <CsrfField csrf={props.csrf} />
            <button type="submit">Manage or cancel in the billing portal</button>
          </form>
        ) : null}
      </section>
      <section class="cards">
        {props.plans.map((p) => (
          <div class="card plan" data-plan={p.id}>
            <h3>{p.name}</h3>
            <strong>{usd(p.priceMicroUsd)}<span class="muted"> / month</span></strong>
            <ul>
              <li>{usd(p.allowanceMicroUsd)} of usage included</li>
              <li>{int(p.requestsPerMinute)} requests / min</li>
              <li>{int(p.tokensPerMinute)} tokens / min</li>
            </ul>
            {p.id === c.id ? (
              <span class="pill ok">your plan</span>
            ) : props.canCheckout ? (
              <form method="post" action="/app/plan/checkout">
                <CsrfField csrf={props.csrf} />
                <input type="hidden" name="plan_id" value={p.id} />
                <button type="submit" class="primary">Upgrade to {p.name}</button>
              </form>
            ) : (
              <span class="muted">Payments are not configured.</span>
            )}
          </div>
        ))}
      </section>
    </>
  );
}
