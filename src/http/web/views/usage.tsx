import type { RequestRow } from "../../../billing/usage-query";
import type { UsageSeries } from "../../../web/dashboard";
import { int, short, usd, when } from "./format";

export interface SpendView {
  planName: string;
  periodCostMicroUsd: number;
  allowanceMicroUsd: number;
  remainingMicroUsd: number;
  resetsAt: string;
}

type Recent = RequestRow;

export function UsagePage(props: { series: UsageSeries; spend: SpendView; recent: Recent[] }) {
  const { series, spend } = props;
  const used = spend.allowanceMicroUsd > 0 ? Math.min(1, spend.periodCostMicroUsd / spend.allowanceMicroUsd) : 0;
  const chartData = {
    days: series.days,
    models: series.models,
    tokens: series.tokens,
    cost: series.cost.map((row) => row.map((m) => m / 1_000_000)),
  };
  return (
    <>
      <section class="cards">
        <div class="card stat">
          <span class="label">This period</span>
          <strong id="period-spend">{usd(spend.periodCostMicroUsd)}</strong>
          <span class="muted">of {usd(spend.allowanceMicroUsd)} on {spend.planName}</span>
          <progress max={1} value={used}></progress>
          <span class="muted">resets {spend.resetsAt.replace("T", " ").slice(0, 16)} UTC</span>
        </div>
        <div class="card stat">
          <span class="label">Last 30 days</span>
          <strong id="total-requests">{int(series.totals.requests)} {series.totals.requests === 1 ? "request" : "requests"}</strong>
          <span class="muted">{int(series.totals.tokens)} tokens · {usd(series.totals.costMicroUsd)}</span>
        </div>
      </section>
      <section class="card">
        <div class="row-between">
          <h2>By day</h2>
          <a class="button" href="/app/usage.csv" download>Export CSV</a>
        </div>
        {/* Data for /static/usage-chart.js; not executed (JSON), and '<' escaped so it cannot end the element. */}
        <script type="application/json" id="usage-data" dangerouslySetInnerHTML={{ __html: JSON.stringify(chartData).replace(/</g, "\\u003c") }}></script>
        <div class="chart-box"><canvas id="chart-tokens" aria-label="Tokens by day and model" role="img"></canvas></div>
        <div class="chart-box"><canvas id="chart-cost" aria-label="Cost by day and model" role="img"></canvas></div>
      </section>
      <section class="card">
        <h2>By model</h2>
        <div class="table-wrap">
          <table id="by-model">
            <thead><tr><th>Model</th><th class="num">Requests</th><th class="num">Tokens</th><th class="num">Cost</th></tr></thead>
            <tbody>
              {series.byModel.map((m) => (
                <tr><td data-label="Model">{m.model}</td><td data-label="Requests" class="num">{int(m.requests)}</td><td data-label="Tokens" class="num">{int(m.tokens)}</td><td data-label="Cost" class="num">{usd(m.costMicroUsd)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card">
        <h2>Recent requests</h2>
        <div class="table-wrap">
          <table id="recent">
            <thead>
              <tr><th>Request</th><th>Time</th><th>Model</th><th>Status</th><th>Miner</th><th class="num">Tokens reported</th><th class="num">Tokens counted</th><th class="num">Cost</th></tr>
            </thead>
            <tbody>
              {props.recent.length === 0 ? (
                <tr><td colspan={8} class="muted">No requests yet.</td></tr>
              ) : (
                props.recent.map((r) => (
                  <tr data-request-id={r.request_id}>
                    <td data-label="Request"><code title={r.request_id}>{short(r.request_id, 14)}</code></td>
                    <td data-label="Time">{when(r.created_at)}</td>
                    <td data-label="Model">{r.model}</td>
                    <td data-label="Status"><span class={`pill ${r.status === "ok" ? "ok" : "bad"}`}>{r.status}</span></td>
                    <td data-label="Miner"><code title={r.miner_hotkey ?? ""}>{short(r.miner_hotkey, 8)}</code></td>
                    <td data-label="Reported" class="num">{r.prompt_tokens_reported === null ? "—" : `${r.prompt_tokens_reported} + ${r.completion_tokens_reported ?? 0}`}</td>
                    <td data-label="Counted" class="num">{`${r.prompt_tokens_counted} + ${r.completion_tokens_counted}`}</td>
                    <td data-label="Cost" class="num">{usd(r.cost_micro_usd)}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
