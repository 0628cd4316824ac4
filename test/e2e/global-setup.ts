/** Starts one dev stack (the same code as `npm run dev`) for the end-to-end suite. */
import type { TestProject } from "vitest/node";
import { startDevStack } from "../../scripts/lib/dev-stack";
import { freePort } from "../../scripts/lib/processes";
import { ensureChromium } from "../support/chromium";
import { startOidcProvider } from "../support/oidc-provider";
import { startStripeStandIn } from "../support/stripe-standin";

declare module "vitest" {
  export interface ProvidedContext {
    gatewayUrl: string;
    devKey: string;
    adminToken: string;
    /** The web app's test services (test/e2e/web*.test.ts). */
    web: { chromium: string; oidcIssuer: string; stripeUrl: string; stripeWebhookSecret: string; sessionSecret: string; persistTo: string };
  }
}

export default async function setup(project: TestProject) {
  // Paced so a stream lasts long enough (~1 s) for a client to disconnect in the middle of it.
  const paced = { args: ["--tokens-per-sec", "60"] };
  // The web app's sign-in and payments need their provider and Stripe stand-in before the gateway starts.
  const port = await freePort();
  const [oidc, stripe] = await Promise.all([startOidcProvider({ redirectUris: [`http://127.0.0.1:${port}/auth/oidc/callback`] }), startStripeStandIn()]);
  const web = { chromium: ensureChromium(), oidcIssuer: oidc.issuer, stripeUrl: stripe.url, stripeWebhookSecret: "whsec_e2e_web_test", sessionSecret: "e2e-session-secret-0123456789abcdefghij" };
  const stack = await startDevStack({
    port,
    echo: process.env.E2E_ECHO === "1",
    miners: [{ hotkeyUri: "//Bob", ...paced }, { hotkeyUri: "//Charlie", ...paced }, { hotkeyUri: "//Dave", ...paced }],
    vars: {
      OIDC_ISSUER: oidc.issuer,
      OIDC_CLIENT_ID: oidc.clientId,
      OIDC_CLIENT_SECRET: oidc.clientSecret,
      SESSION_SECRET: web.sessionSecret,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET: web.stripeWebhookSecret,
    },
  }).catch(async (err: unknown) => {
    await Promise.all([oidc.close(), stripe.close()]);
    throw err;
  });
  project.provide("gatewayUrl", stack.url);
  project.provide("devKey", stack.devKey);
  project.provide("adminToken", stack.adminToken);
  project.provide("web", { ...web, persistTo: stack.persistTo });
  return async () => {
    await stack.stop();
    await Promise.all([oidc.close(), stripe.close()]);
  };
}
