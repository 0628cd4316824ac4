/**
 * Sign-in and sign-out:
 *   GET  /auth/login            the sign-in page (provider button; dev sign-in on loopback in development)
 *   GET  /auth/oidc/start       redirect to the provider with state, nonce and a PKCE challenge
 *   GET  /auth/oidc/callback    state checked against the sign-in cookie, code exchanged, ID token verified
 *   POST /auth/dev              local sign-in with an e-mail (development only)
 *   POST /auth/logout           ends the session server-side and clears the cookie
 *   GET|POST /console/login     operator sign-in with the admin token
 */
import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { webWorkerConfig } from "../../config/web";
import { GatewayError } from "../../errors";
import { timingSafeEqual } from "../../lib/crypto";
import { devSignInAllowed } from "../../web/config";
import { subscriberForIdentity } from "../../web/identities";
import { authorizationUrl, completeSignIn, discover, newTransaction, type SignInTransaction } from "../../web/oidc";
import { endSession, startSession } from "../../web/sessions";
import { sha256Base64url, signToken, verifyToken } from "../../web/tokens";
import { cookieOptions, formField, SESSION_COOKIE, SIGNIN_COOKIE } from "./guards";
import { CsrfField, Layout } from "./views/layout";
import type { WebEnv } from "./web-env";

const SIGNIN_TTL_SECONDS = 600;
const DEV_ISSUER = "urn:gateway:dev-sign-in";

function redirectUri(c: Context<WebEnv>): string {
  return `${c.var.base}/auth/oidc/callback`;
}

/** Rate-limit key for sign-ups: the client's address, hashed (never stored in the clear). */
async function clientKey(c: Context<WebEnv>): Promise<string> {
  return sha256Base64url(c.req.header("cf-connecting-ip") ?? "local");
}

async function signIn(c: Context<WebEnv>, who: { role: "subscriber"; subscriberId: string } | { role: "operator" }) {
  const cfg = c.var.web;
  if (c.var.session) await endSession(c.env.DB, c.var.session.id); // a new sign-in replaces the old session
  const { token } = await startSession(c.env.DB, cfg, who);
  setCookie(c, SESSION_COOKIE, token, cookieOptions(cfg, cfg.sessionTtlSeconds));
  return c.redirect(who.role === "operator" ? "/console" : "/app/keys", 303);
}

function LoginPage(props: { c: Context<WebEnv>; error?: string }) {
  const { c } = props;
  const cfg = c.var.web;
  const issuerHost = cfg.oidc ? new URL(cfg.oidc.issuer).host : null;
  return (
    <Layout title="Sign in" session={null} csrf={c.var.csrf} path="/auth/login">
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      <section class="card narrow">
        <p>Sign in to create API keys, watch your usage and manage your plan. A first sign-in creates your account.</p>
        {issuerHost ? (
          <a class="button primary" href="/auth/oidc/start" id="oidc-sign-in">
            Sign in with {issuerHost}
          </a>
        ) : (
          <p class="muted">No identity provider is configured (OIDC_ISSUER).</p>
        )}
        {devSignInAllowed(cfg, c.req.url) ? (
          <form method="post" action="/auth/dev" class="stack">
            <h2>Local dev sign-in</h2>
            <p class="muted">Development only, on loopback: no provider, no password.</p>
            <CsrfField csrf={c.var.csrf} />
            <label>
              E-mail <input type="email" name="email" required value="dev@example.test" />
            </label>
            <button type="submit">Sign in locally</button>
          </form>
        ) : null}
        <p class="muted">
          Operator? <a href="/console/login">Sign in to the console</a>.
        </p>
      </section>
    </Layout>
  );
}

export function registerAuthRoutes(web: Hono<WebEnv>): void {
  web.get("/auth/login", (c) => (c.var.session ? c.redirect(c.var.session.role === "operator" ? "/console" : "/app/keys") : c.html(<LoginPage c={c} />)));

  web.get("/auth/oidc/start", async (c) => {
    const cfg = c.var.web;
    if (!cfg.oidc) throw new GatewayError(404, "not_found_error", "oidc_not_configured", "No identity provider is configured.");
    const meta = await discover(cfg.oidc.issuer);
    const tx = newTransaction();
    const token = await signToken(cfg.sessionSecret, "signin", { ...tx }, SIGNIN_TTL_SECONDS);
    setCookie(c, SIGNIN_COOKIE, token, cookieOptions(cfg, SIGNIN_TTL_SECONDS, "/auth"));
    return c.redirect(await authorizationUrl(meta, cfg.oidc, tx, redirectUri(c)), 302);
  });

  web.get("/auth/oidc/callback", async (c) => {
    const cfg = c.var.web;
    if (!cfg.oidc) throw new GatewayError(404, "not_found_error", "oidc_not_configured", "No identity provider is configured.");
    const claims = await verifyToken(cfg.sessionSecret, "signin", getCookie(c, SIGNIN_COOKIE) ?? "");
    deleteCookie(c, SIGNIN_COOKIE, { path: "/auth", secure: cfg.secureCookies });
    const tx: SignInTransaction | null =
      claims && typeof claims.state === "string" && typeof claims.nonce === "string" && typeof claims.verifier === "string"
        ? { state: claims.state, nonce: claims.nonce, verifier: claims.verifier }
        : null;
    if (!tx) return c.html(<LoginPage c={c} error="Your sign-in took too long or started elsewhere. Please try again." />, 400);
    const providerError = c.req.query("error");
    if (providerError) return c.html(<LoginPage c={c} error={`The identity provider refused the sign-in (${providerError.slice(0, 80)}).`} />, 400);
    const state = c.req.query("state") ?? "";
    const code = c.req.query("code") ?? "";
    if (!timingSafeEqual(state, tx.state) || code === "") return c.html(<LoginPage c={c} error="The sign-in response does not match this browser's sign-in. Please try again." />, 400);
    const meta = await discover(cfg.oidc.issuer);
    const who = await completeSignIn(meta, cfg.oidc, tx, { code, redirectUri: redirectUri(c) });
    const subscriberId = await subscriberForIdentity(c.env.DB, who, {
      jwtIssuer: webWorkerConfig(c.env).jwtIssuer,
      clientKey: await clientKey(c),
      signupsPerHour: cfg.signupsPerHour,
    });
    return signIn(c, { role: "subscriber", subscriberId });
  });

  web.post("/auth/dev", async (c) => {
    if (!devSignInAllowed(c.var.web, c.req.url)) throw new GatewayError(404, "not_found_error", "not_found", "Not found.");
    const email = (await formField(c, "email", 254))?.toLowerCase();
    if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) throw new GatewayError(400, "invalid_request_error", "invalid_value", "Enter an e-mail address.", "email");
    const subscriberId = await subscriberForIdentity(
      c.env.DB,
      { issuer: DEV_ISSUER, subject: email, email, name: null },
      { jwtIssuer: null, clientKey: await clientKey(c), signupsPerHour: c.var.web.signupsPerHour },
    );
    return signIn(c, { role: "subscriber", subscriberId });
  });

  web.post("/auth/logout", async (c) => {
    if (c.var.session) await endSession(c.env.DB, c.var.session.id);
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: c.var.web.secureCookies });
    return c.redirect("/auth/login", 303);
  });

  const operatorLogin = (c: Context<WebEnv>, error?: string) => (
    <Layout title="Operator sign-in" session={null} csrf={c.var.csrf} path="/console/login">
      {error ? <p class="error" role="alert">{error}</p> : null}
      <form method="post" action="/console/login" class="card narrow stack">
        <CsrfField csrf={c.var.csrf} />
        <label>
          Admin token <input type="password" name="token" required autocomplete="off" />
        </label>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </Layout>
  );

  web.get("/console/login", (c) => (c.var.session?.role === "operator" ? c.redirect("/console") : c.html(operatorLogin(c))));

  web.post("/console/login", async (c) => {
    const expected = c.var.web.adminToken;
    if (!expected) throw new GatewayError(404, "not_found_error", "not_found", "The console needs ADMIN_TOKEN.");
    const got = (await formField(c, "token", 500)) ?? "";
    if (!timingSafeEqual(got, expected)) return c.html(operatorLogin(c, "That token is not the admin token."), 401);
    return signIn(c, { role: "operator" });
  });
}
