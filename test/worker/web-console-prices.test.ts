// The operator console's price editing (/console/prices): the operator signs in with the admin
// token, adds a model's price, changes it, is refused a bad value exactly as PUT /admin/prices
// refuses it, removes it (back to the default), and every POST without the form's CSRF token or
// from another origin is refused with nothing changed. Prices are read back through the admin API.
import { describe, expect, it } from "vitest";
import { admin } from "./helpers";
import { browser } from "./web-browser";

type Price = { model: string; input_micro_usd_per_mtok: number; output_micro_usd_per_mtok: number; cached_input_micro_usd_per_mtok: number };

async function priceOf(model: string): Promise<Price | undefined> {
  const { data } = await admin<{ data: Price[] }>("GET", "/admin/prices");
  return data.find((p) => p.model === model);
}

async function operator() {
  const b = browser("https://gateway.example", { ENVIRONMENT: "production", ADMIN_TOKEN: "test-admin-token" });
  const login = await b.request("GET", "/console/login");
  const signedIn = await b.request("POST", "/console/login", { _csrf: b.csrf(login.html), token: "test-admin-token" });
  expect(signedIn.res.status).toBe(303);
  return b;
}

describe("console prices", () => {
  it("adds, edits and removes a model's price, validated like the admin API", async () => {
    const b = await operator();
    const model = `org/priced-${crypto.randomUUID().slice(0, 8)}`;
    const page = await b.request("GET", "/console/prices");
    expect(page.res.status).toBe(200);
    expect(page.html).toContain('data-price="*"');
    expect(page.html).toContain('data-price="new"');
    expect(page.html).toContain('href="/console/prices"');
    const csrf = b.csrf(page.html);

    const prices = { input_micro_usd_per_mtok: "100000", output_micro_usd_per_mtok: "300000", cached_input_micro_usd_per_mtok: "25000" };
    const added = await b.request("POST", "/console/prices", { _csrf: csrf, model, ...prices });
    expect(added.res.status).toBe(303);
    expect(added.res.headers.get("location")).toBe("/console/prices");
    expect(await priceOf(model)).toEqual({ model, input_micro_usd_per_mtok: 100000, output_micro_usd_per_mtok: 300000, cached_input_micro_usd_per_mtok: 25000 });
    expect((await b.request("GET", "/console/prices")).html).toContain(`data-price="${model}"`);

    await b.request("POST", "/console/prices", { _csrf: csrf, model, ...prices, output_micro_usd_per_mtok: "450000" });
    expect((await priceOf(model))?.output_micro_usd_per_mtok).toBe(450000);

    // Not a whole number: refused by the same parser as PUT /admin/prices, nothing changed.
    for (const bad of ["1.5", "-3", "lots"]) {
      const refused = await b.request("POST", "/console/prices", { _csrf: csrf, model, ...prices, input_micro_usd_per_mtok: bad });
      expect(refused.res.status, bad).toBe(400);
      expect(refused.html).toContain("input_micro_usd_per_mtok");
    }
    expect((await priceOf(model))?.input_micro_usd_per_mtok).toBe(100000);

    const removed = await b.request("POST", "/console/prices/delete", { _csrf: csrf, model });
    expect(removed.res.status).toBe(303);
    expect(await priceOf(model)).toBeUndefined();
    // The default row can be changed but not removed.
    expect((await b.request("POST", "/console/prices/delete", { _csrf: csrf, model: "*" })).res.status).toBe(400);
    expect(await priceOf("*")).toBeDefined();
  });

  it("refuses a price change without the form's CSRF token or from another origin", async () => {
    const b = await operator();
    const model = `org/csrf-${crypto.randomUUID().slice(0, 8)}`;
    const form = { model, input_micro_usd_per_mtok: "1", output_micro_usd_per_mtok: "2", cached_input_micro_usd_per_mtok: "0" };
    expect((await b.request("POST", "/console/prices", form)).res.status).toBe(403);
    expect((await b.request("POST", "/console/prices", { ...form, _csrf: "forged" })).res.status).toBe(403);
    const valid = await b.validCsrf();
    expect((await b.request("POST", "/console/prices", { ...form, _csrf: valid }, { origin: "https://evil.example" })).res.status).toBe(403);
    expect(await priceOf(model)).toBeUndefined();
  });

  it("is for operators only", async () => {
    const visitor = browser("https://gateway.example", { ENVIRONMENT: "production" });
    const page = await visitor.request("GET", "/console/prices");
    expect(page.res.status).toBe(303);
    expect(page.res.headers.get("location")).toBe("/console/login");
    const post = await visitor.request("POST", "/console/prices", { _csrf: await visitor.validCsrf(), model: "x", input_micro_usd_per_mtok: "1", output_micro_usd_per_mtok: "1", cached_input_micro_usd_per_mtok: "1" });
    expect(post.res.status).toBe(401);
  });
});
