/**
 * Per-model prices in the operator console, over the same operations as the admin API's
 * /admin/prices (src/billing/pricing.ts):
 *   GET  /console/prices                    every price row ('*' is the default), one form each, and a form for a new model
 *   POST /console/prices {model, input_/output_/cached_input_micro_usd_per_mtok}   = PUT /admin/prices
 *   POST /console/prices/delete {model}     = DELETE /admin/prices/{model}
 * The operator guard and CSRF come from the console's and the app's middlewares (every POST here
 * passes the same-origin and double-submit checks). Values are validated by parsePriceInput, exactly
 * like the admin API: a form field that is not a whole number is refused there, never coerced here.
 */
import type { Context, Hono } from "hono";
import { DEFAULT_PRICE_MODEL, deletePrice, listPrices, parsePriceInput, upsertPrice, type ModelPrice } from "../../billing/pricing";
import { notFound } from "../../errors";
import type { JsonObject } from "../../lib/json";
import { usd } from "./views/format";
import { CsrfField, Layout } from "./views/layout";
import type { WebEnv } from "./web-env";

const FIELDS = [
  ["input_micro_usd_per_mtok", "Input (µUSD / Mtok)"],
  ["output_micro_usd_per_mtok", "Output (µUSD / Mtok)"],
  ["cached_input_micro_usd_per_mtok", "Cached input (µUSD / Mtok)"],
] as const;

type PriceField = (typeof FIELDS)[number][0];

const valueOf = (p: ModelPrice, key: PriceField): number =>
  key === "input_micro_usd_per_mtok" ? p.inputMicroUsdPerMtok : key === "output_micro_usd_per_mtok" ? p.outputMicroUsdPerMtok : p.cachedInputMicroUsdPerMtok;

function PriceForm(props: { price: ModelPrice | null; csrf: string }) {
  const p = props.price;
  const id = p ? p.model : "new";
  return (
    <form method="post" action="/console/prices" class="card stack" data-price={id}>
      <CsrfField csrf={props.csrf} />
      {p ? (
        <>
          <h2><code>{p.model}</code>{p.model === DEFAULT_PRICE_MODEL ? <span class="pill">default</span> : null}</h2>
          <input type="hidden" name="model" value={p.model} />
          <p class="muted">1M input + 1M output tokens: {usd(p.inputMicroUsdPerMtok + p.outputMicroUsdPerMtok)}</p>
        </>
      ) : (
        <>
          <h2>New model price</h2>
          <label>Model id <input name="model" required maxlength={200} placeholder="org/model" /></label>
        </>
      )}
      {FIELDS.map(([key, label]) => (
        <label>{label} <input name={key} type="number" min={0} step={1} value={p ? String(valueOf(p, key)) : ""} required /></label>
      ))}
      <button type="submit" class="primary">{p ? `Save ${p.model}` : "Add price"}</button>
    </form>
  );
}

function DeleteForm(props: { model: string; csrf: string }) {
  return (
    <form method="post" action="/console/prices/delete" data-delete-price={props.model}>
      <CsrfField csrf={props.csrf} />
      <input type="hidden" name="model" value={props.model} />
      <button type="submit" class="danger">Remove {props.model} (back to '{DEFAULT_PRICE_MODEL}')</button>
    </form>
  );
}

/** The form's text fields as the admin API's JSON body: whole numbers become numbers, anything else stays text and is refused by the parser. */
function priceBody(form: Record<string, unknown>): JsonObject {
  const body: JsonObject = {};
  if (typeof form.model === "string") body.model = form.model.trim();
  for (const [key] of FIELDS) {
    const v = form[key];
    if (typeof v === "string") body[key] = /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
  }
  return body;
}

async function pricesPage(c: Context<WebEnv>) {
  const prices = await listPrices(c.env.DB);
  return c.html(
    <Layout title="Prices" session={c.var.session} csrf={c.var.csrf} path="/console/prices">
      <p class="muted">Micro-USD per million tokens. A model without its own row is billed at '{DEFAULT_PRICE_MODEL}'.</p>
      <section class="cards">
        {prices.map((p) => (
          <div class="stack">
            <PriceForm price={p} csrf={c.var.csrf} />
            {p.model === DEFAULT_PRICE_MODEL ? null : <DeleteForm model={p.model} csrf={c.var.csrf} />}
          </div>
        ))}
        <PriceForm price={null} csrf={c.var.csrf} />
      </section>
    </Layout>,
  );
}

export function registerConsolePriceRoutes(web: Hono<WebEnv>): void {
  web.get("/console/prices", pricesPage);

  web.post("/console/prices", async (c) => {
    await upsertPrice(c.env.DB, parsePriceInput(priceBody(await c.req.parseBody())));
    return c.redirect("/console/prices", 303);
  });

  web.post("/console/prices/delete", async (c) => {
    const form = await c.req.parseBody();
    const model = typeof form.model === "string" ? form.model : "";
    if (!(await deletePrice(c.env.DB, model))) throw notFound(`No price for '${model}'.`, "price_not_found", "model");
    return c.redirect("/console/prices", 303);
  });
}
