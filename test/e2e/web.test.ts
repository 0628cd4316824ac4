/**
 * The web app in real Chromium (Debian's package, driven by playwright-core) against the dev
 * stack, a real OpenID Connect provider (oidc-provider, test/support/oidc-provider.ts) and the
 * Stripe stand-in (test/support/stripe-standin.ts). One browser; each person has their own
 * context (cookies). With WEB_SCREENSHOTS=1 it also writes docs/screenshots/*.png.
 */
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, SignJWT } from "jose";
import OpenAI from "openai";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ROOT } from "../../scripts/lib/dev-stack";

const base = inject("gatewayUrl");
const adminToken = inject("adminToken");
const web = inject("web");
const run = Date.now().toString(36);
const PRICE = `price_web_${run}`;
const PLAN = `webpro${run}`;
const SHOTS = process.env.WEB_SCREENSHOTS === "1" ? join(ROOT, "docs/screenshots") : null;

let browser: Browser;
const contexts: BrowserContext[] = [];

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.ok, `${method} ${path}: ${res.status}`).toBe(true);
  return res.json() as Promise<Record<string, unknown>>;
}

async function newPerson(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Nothing leaves the machine: the provider's page @imports a web font, for one.
  await context.route("**/*", (route) => (new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort()));
  contexts.push(context);
  return { context, page: await context.newPage() };
}

async function screenshot(page: Page, name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  if (size) await page.setViewportSize(size);
}

/** Signs in through the OIDC provider's own login and consent pages. */
async function signInWithProvider(page: Page, login: string) {
  await page.goto(`${base}/auth/login`);
  await page.click("#oidc-sign-in");
  await page.waitForURL((u) => u.origin === web.oidcIssuer);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "any password");
  await page.click('button[type="submit"]');
  // The provider asks for consent (a new provider session), unless it sends the browser straight back.
  await Promise.race([page.waitForURL((u) => u.origin === base), page.waitForSelector('button:has-text("Continue")')]);
  if (new URL(page.url()).origin === web.oidcIssuer) await page.click('button:has-text("Continue")');
  await page.waitForURL((u) => u.origin === base);
}

async function sessionCookie(context: BrowserContext): Promise<string> {
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === "gw_session");
  expect(session, "session cookie").toBeDefined();
  expect(session!.httpOnly).toBe(true);
  expect(session!.sameSite).toBe("Lax");
  return session!.value;
}

async function createKey(page: Page, name: string): Promise<string> {
  await page.goto(`${base}/app/keys`);
  await page.fill('input[name="name"]', name);
  await page.click("#create-key");
  const key = (await page.textContent("#new-key-value"))!.trim();
  expect(key).toMatch(/^sk-[0-9A-Za-z]{40}$/);
  return key;
}

function stripeSignature(body: string): string {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac("sha256", web.stripeWebhookSecret).update(`${t}.${body}`).digest("hex")}`;
}

async function deliverWebhook(type: string, object: Record<string, unknown>) {
  const body = JSON.stringify({ id: `evt_${crypto.randomUUID()}`, object: "event", type, created: Math.floor(Date.now() / 1000), livemode: false, data: { object } });
  const res = await fetch(`${base}/webhooks/stripe`, { method: "POST", headers: { "content-type": "application/json", "stripe-signature": stripeSignature(body) }, body });
  expect(res.status).toBe(200);
}

/** Reloads `url` until `selector` is on the page (usage rows land through the queue). */
async function reloadUntil(page: Page, url: string, selector: string) {
  for (let i = 0; i < 60; i++) {
    await page.goto(url);
    if ((await page.$(selector)) !== null) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${selector} never appeared on ${url}`);
}

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: web.chromium, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  await admin("POST", "/admin/plans", {
    id: PLAN, name: `Web Pro ${run}`, price_micro_usd: 20_000_000, allowance_micro_usd: 20_000_000, requests_per_minute: 600, tokens_per_minute: 1_000_000, concurrent_requests: 20, stripe_price_id: PRICE,
  });
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
});

describe("the web app", { timeout: 120_000 }, () => {
  const alice = `alice${run}`;
  let aliceId = "";
  let alicePage: Page;
  let aliceContext: BrowserContext;
  let aliceSecondKey = "";

  it("a new person signs in through the OIDC provider, creates a key, sees an SDK request in usage, upgrades, and revokes the key", async () => {
    ({ page: alicePage, context: aliceContext } = await newPerson());
    const page = alicePage;
    await signInWithProvider(page, alice);
    await page.waitForURL(`${base}/app/keys`);
    await sessionCookie(aliceContext);

    const key = await createKey(page, "sdk");
    await screenshot(page, "keys-new");
    // Shown once: a fresh load of the page lists only the prefix.
    await page.goto(`${base}/app/keys`);
    expect(await page.content()).not.toContain(key);
    expect(await page.textContent("#keys")).toContain(key.slice(0, 7));

    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "Repeat exactly: hello web" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("hello web");
    const requestId = response.headers.get("x-request-id")!;

    await reloadUntil(page, `${base}/app/usage`, `tr[data-request-id="${requestId}"]`);
    const row = await page.textContent(`tr[data-request-id="${requestId}"]`);
    expect(row).toContain("demo/tiny-chat");
    expect(row).toContain("ok");
    // Chart.js drew both charts from the page's data, with this request's day in them.
    await page.waitForSelector('#chart-tokens[data-ready="1"]');
    expect(Number(await page.getAttribute("#chart-tokens", "data-points"))).toBeGreaterThan(0);
    expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe("function");
    await screenshot(page, "usage");
    const csv = await page.evaluate(async () => (await fetch("/app/usage.csv")).text());
    expect(csv.split("\r\n")[0]).toContain("request_id");
    expect(csv).toContain(requestId);

    // Upgrade: the gateway creates the Checkout Session at the Stripe stand-in, which checks it.
    await page.goto(`${base}/app/plan`);
    await screenshot(page, "plan");
    await page.click(`div[data-plan="${PLAN}"] button[type="submit"]`);
    await page.waitForURL((u) => u.origin === web.stripeUrl);
    const requests = (await (await fetch(`${web.stripeUrl}/__requests`)).json()) as { path: string; form: Record<string, string>; idempotencyKey: string | null }[];
    const checkout = requests.filter((r) => r.path === "/v1/checkout/sessions").at(-1)!;
    expect(checkout.form["line_items[0][price]"]).toBe(PRICE);
    expect(checkout.form.mode).toBe("subscription");
    expect(checkout.form.success_url).toBe(`${base}/app/plan?checkout=success`);
    expect(checkout.idempotencyKey).toBeTruthy();
    aliceId = checkout.form.client_reference_id!;
    expect(checkout.form["metadata[subscriber_id]"]).toBe(aliceId);
    const subscriber = await admin("GET", `/admin/subscribers/${aliceId}`);
    expect(subscriber.email).toBe(`${alice}@example.test`);
    expect(checkout.form.customer_email).toBe(`${alice}@example.test`);

    // Stripe's webhooks after payment, signed: the plan moves.
    const customer = `cus_${run}`;
    const sub = `sub_${run}`;
    const now = Math.floor(Date.now() / 1000);
    await deliverWebhook("checkout.session.completed", { id: `cs_${run}`, object: "checkout.session", mode: "subscription", payment_status: "paid", client_reference_id: aliceId, customer, subscription: sub, metadata: { subscriber_id: aliceId, price_id: PRICE } });
    await deliverWebhook("customer.subscription.created", { id: sub, object: "subscription", customer, status: "active", metadata: { subscriber_id: aliceId }, items: { object: "list", data: [{ id: `si_${run}`, price: { id: PRICE }, current_period_start: now, current_period_end: now + 30 * 86_400 }] } });
    await page.goto(`${base}/app/plan?checkout=success`);
    expect(await page.getAttribute("#current-plan", "data-plan-id")).toBe(PLAN);
    expect(await page.textContent("#current-plan-name")).toBe(`Web Pro ${run}`);

    // The billing portal for the customer the webhook linked.
    await page.click('form[action="/app/plan/portal"] button');
    await page.waitForURL((u) => u.origin === web.stripeUrl);
    const portal = ((await (await fetch(`${web.stripeUrl}/__requests`)).json()) as { path: string; form: Record<string, string> }[]).filter((r) => r.path === "/v1/billing_portal/sessions").at(-1)!;
    expect(portal.form.customer).toBe(customer);

    // Revoke: the SDK is refused at once.
    await page.goto(`${base}/app/keys`);
    await page.click(`tr:has(code:text("${key.slice(0, 7)}")) button.danger`);
    await page.waitForURL(`${base}/app/keys`);
    expect(await page.textContent("#keys")).toContain("revoked");
    const refused = await client.chat.completions.create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);

    aliceSecondKey = await createKey(page, "second");
    await page.goto(`${base}/app/quickstart`);
    expect(await page.textContent("#qs-curl")).toContain(`${base}/v1/chat/completions`);
    await screenshot(page, "quickstart");
  });

  it("refuses a state-changing request without the CSRF token or from another origin", async () => {
    const cookie = await sessionCookie(aliceContext);
    const csrfCookie = (await aliceContext.cookies(base)).find((c) => c.name === "gw_csrf")!.value;
    const token = await alicePage.getAttribute('input[name="_csrf"]', "value");
    const jar = `gw_session=${cookie}; gw_csrf=${csrfCookie}`;
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${base}/app/keys`, { method: "POST", redirect: "manual", headers: { cookie: jar, origin: base, "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(body) });
    const before = await admin("GET", `/admin/subscribers/${aliceId}`);
    expect((await post({ name: "no-token" })).status).toBe(403);
    expect((await post({ name: "forged", _csrf: "A".repeat(43) })).status).toBe(403);
    expect((await post({ name: "cross-site", _csrf: token! }, { origin: "http://evil.example" })).status).toBe(403);
    const other = await fetch(`${base}/app/keys`, { method: "POST", redirect: "manual", headers: { cookie: `gw_session=${cookie}; gw_csrf=someone-elses-cookie-value`, origin: base, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ name: "swapped", _csrf: token! }) });
    expect(other.status).toBe(403);
    const after = await admin("GET", `/admin/subscribers/${aliceId}`);
    expect((after.keys as unknown[]).length).toBe((before.keys as unknown[]).length);
    // The same request with the token goes through (the refusals were about the token).
    expect((await post({ name: "with-token", _csrf: token! })).status).toBe(201);
  });

  it("limits key creation per subscriber per hour", async () => {
    const cookies = await aliceContext.cookies(base);
    const jar = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    const token = await alicePage.getAttribute('input[name="_csrf"]', "value");
    const statuses: number[] = [];
    // KEYS_PER_HOUR defaults to 20; alice has made 3 keys so far.
    for (let i = 0; i < 25 && !statuses.includes(429); i++) {
      const res = await fetch(`${base}/app/keys`, { method: "POST", redirect: "manual", headers: { cookie: jar, origin: base, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ name: `bulk-${i}`, _csrf: token! }) });
      statuses.push(res.status);
      if (res.status === 429) expect(await res.text()).not.toMatch(/sk-[0-9A-Za-z]{40}/);
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(17);
    expect(statuses.at(-1)).toBe(429);
  });

  it("never shows one subscriber another's keys or usage, nor lets them revoke them", async () => {
    const { page, context } = await newPerson();
    await signInWithProvider(page, `bob${run}`);
    await page.waitForURL(`${base}/app/keys`);
    const keys = await page.textContent("#keys");
    expect(keys).not.toContain(aliceSecondKey.slice(0, 7));
    expect(keys).not.toContain("sdk");
    await page.goto(`${base}/app/usage`);
    expect(await page.$$("tr[data-request-id]")).toHaveLength(0);
    const aliceKeys = (await admin("GET", `/admin/subscribers/${aliceId}`)).keys as { id: string; revokedAt: number | null; name: string }[];
    const live = aliceKeys.find((k) => k.name === "second")!;
    const token = await page.getAttribute('input[name="_csrf"]', "value");
    const res = await page.evaluate(async ({ id, csrf }) => (await fetch(`/app/keys/${id}/revoke`, { method: "POST", body: new URLSearchParams({ _csrf: csrf }) })).status, { id: live.id, csrf: token! });
    expect(res).toBe(404);
    const models = await new OpenAI({ baseURL: `${base}/v1`, apiKey: aliceSecondKey, maxRetries: 0 }).models.list();
    expect(models.data.length).toBeGreaterThan(0);
    await context.close();
  });

  it("serves the API reference page and document", async () => {
    const { page } = await newPerson();
    await page.goto(`${base}/docs/api`);
    expect(await page.$('details[data-operation="createChatCompletion"]')).not.toBeNull();
    await page.click('details[data-operation="createChatCompletion"] summary');
    expect(await page.textContent('details[data-operation="createChatCompletion"]')).toContain("messages");
    await screenshot(page, "api-reference");
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; servers: { url: string }[] };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers[0]!.url).toBe(base);
  });

  it("refuses a provider account whose e-mail is not verified", async () => {
    const { page } = await newPerson();
    await signInWithProvider(page, `unverified${run}`);
    await page.waitForSelector(".error");
    expect(await page.textContent(".error")).toContain("verified");
    expect((await page.context().cookies(base)).find((c) => c.name === "gw_session")).toBeUndefined();
  });

  it("ends sessions: an expired token and a signed-out session both go back to sign-in", async () => {
    const cookie = await sessionCookie(aliceContext);
    const { sid } = decodeJwt(cookie);
    const expired = await new SignJWT({ sid })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("gateway-web")
      .setAudience("session")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(web.sessionSecret));
    const get = (token: string) => fetch(`${base}/app/keys`, { redirect: "manual", headers: { cookie: `gw_session=${token}` } });
    expect((await get(cookie)).status).toBe(200);
    const stale = await get(expired);
    expect(stale.status).toBe(303);
    expect(stale.headers.get("location")).toBe("/auth/login");

    await alicePage.goto(`${base}/app/keys`);
    await alicePage.click(".signout button");
    await alicePage.waitForURL(`${base}/auth/login`);
    expect((await aliceContext.cookies(base)).find((c) => c.name === "gw_session")).toBeUndefined();
    // The old cookie is dead server-side too: sign-out revoked its session.
    const replay = await get(cookie);
    expect(replay.status).toBe(303);
    await screenshot(alicePage, "sign-in");
  });

  it("lets the operator sign in and see miners with scores and a settlement, block a subscriber, and edit plans and prices", async () => {
    // One settled epoch in D1, as the chain Worker's settlement run writes it (that run needs a chain: test/e2e/settlement.test.ts).
    const hotkeys = ["5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"];
    const epoch = Date.now() % 1_000_000;
    const id = `97:${epoch}`;
    const t = Date.now();
    const sql = [
      `INSERT INTO settlements (id, netuid, epoch, epoch_blocks, planned_at_block, window_start, window_end, validator_hotkey, validator_uid, mode, version_key, weights_status, weights, payout_status, revenue_micro_usd, payout_pool_rao, formula, created_at, updated_at) VALUES ('${id}', 97, ${epoch}, 360, 1000, ${t - 3_600_000}, ${t}, '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', 0, 'set_weights', 1, 'done', '[[1,43690],[2,21845]]', 'done', 1500, '750000', 'v1', ${t}, ${t})`,
      `INSERT INTO settlement_miners (settlement_id, hotkey, uid, coldkey, requests_counted, requests_excluded, prompt_tokens, completion_tokens, value_pusd, success_ppm, honesty_ppm, canary_ppm, quality_ppm, work, weight, payout_rao, payout_status) VALUES ('${id}', '${hotkeys[0]}', 1, NULL, 12, 0, 300, 600, '1000', 1000000, 1000000, 1000000, 1000000, '1000', 43690, '500000', 'paid'), ('${id}', '${hotkeys[1]}', 2, NULL, 6, 1, 150, 300, '500', 900000, 1000000, 1000000, 900000, '450', 21845, '250000', 'paid')`,
    ].join("; ");
    execFileSync(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "d1", "execute", "DB", "--local", "--persist-to", web.persistTo, "--command", sql], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
      stdio: "pipe",
    });

    const { page } = await newPerson();
    await page.goto(`${base}/console`);
    await page.waitForURL(`${base}/console/login`);
    await page.fill('input[name="token"]', "not-the-token");
    await page.click('button[type="submit"]');
    expect(await page.textContent(".error")).toContain("not the admin token");
    await page.fill('input[name="token"]', adminToken);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/console`);
    const chat = page.locator('section[data-model="demo/tiny-chat"] tbody tr');
    expect(await chat.count()).toBe(3);
    const scores = await page.$$eval('section[data-model="demo/tiny-chat"] td.score', (tds) => tds.map((td) => Number(td.textContent)));
    expect(scores.every((s) => s > 0 && s <= 1)).toBe(true);
    await screenshot(page, "console-miners");

    await page.goto(`${base}/console/settlements`);
    const settled = await page.textContent(`section[data-settlement="${id}"]`);
    expect(settled).toContain(`Epoch ${epoch}`);
    expect(settled).toContain("500000");
    await screenshot(page, "console-settlements");

    // Blocking bob ends his access: his keys are refused and he cannot sign in again.
    await page.goto(`${base}/console/subscribers`);
    const bobRow = page.locator(`tr:has-text("bob${run}@example.test")`);
    await bobRow.locator("button").click();
    await page.waitForURL(`${base}/console/subscribers`);
    expect(await page.locator(`tr:has-text("bob${run}@example.test")`).textContent()).toContain("blocked");
    await screenshot(page, "console-subscribers");
    const again = await newPerson();
    await signInWithProvider(again.page, `bob${run}`);
    await again.page.waitForSelector(".error");
    expect(await again.page.textContent(".error")).toContain("blocked");

    await page.goto(`${base}/console/plans`);
    await page.fill(`form[data-plan="${PLAN}"] input[name="requests_per_minute"]`, "777");
    await page.click(`form[data-plan="${PLAN}"] button[type="submit"]`);
    await page.waitForURL(`${base}/console/plans`);
    expect((await admin("GET", `/admin/plans/${PLAN}`)).requests_per_minute).toBe(777);
    await screenshot(page, "console-plans");

    // Per-model prices: add one for a new model, then change its output price (PUT /admin/prices underneath).
    const MODEL = `demo/priced-${run}`;
    await page.goto(`${base}/console/prices`);
    const fresh = page.locator('form[data-price="new"]');
    await fresh.locator('input[name="model"]').fill(MODEL);
    await fresh.locator('input[name="input_micro_usd_per_mtok"]').fill("150000");
    await fresh.locator('input[name="output_micro_usd_per_mtok"]').fill("600000");
    await fresh.locator('input[name="cached_input_micro_usd_per_mtok"]').fill("40000");
    await fresh.locator('button[type="submit"]').click();
    await page.waitForURL(`${base}/console/prices`);
    await page.fill(`form[data-price="${MODEL}"] input[name="output_micro_usd_per_mtok"]`, "650000");
    await page.click(`form[data-price="${MODEL}"] button[type="submit"]`);
    await page.waitForURL(`${base}/console/prices`);
    const prices = (await admin("GET", "/admin/prices")).data as { model: string; output_micro_usd_per_mtok: number }[];
    expect(prices.find((p) => p.model === MODEL)?.output_micro_usd_per_mtok).toBe(650000);
    await screenshot(page, "console-prices");
  });
});
