// The three config modules: defaults, validation, and errors that name the variable (never a secret's value).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseChainConfig } from "../../../src/config/chain";
import { parseGatewayConfig } from "../../../src/config/gateway";
import { parseWebConfig } from "../../../src/config/web";
import { isSecret, variablesOf, VARIABLES } from "../../../src/config/variables";

const DB = {} as Parameters<typeof parseChainConfig>[0]["DB"];

function refusal(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("gateway configuration", () => {
  it("has the documented defaults when nothing is set", () => {
    const cfg = parseGatewayConfig({});
    expect(cfg).toMatchObject({
      maxBodyBytes: 1_048_576,
      minerTimeoutMs: 300_000,
      maxMinerAttempts: 3,
      billing: { defaultPlanId: "free", leaseTtlMs: 60_000 },
      netuid: null,
      canaryCron: null,
      jwt: { algorithms: ["HS256", "RS256", "ES256", "EdDSA"], autoProvision: false },
    });
  });

  it("reads what is set", () => {
    const cfg = parseGatewayConfig({ MAX_BODY_BYTES: "2048", NETUID: "7", JWT_AUTO_PROVISION: "true", CANARY_CRON: "*/10 * * * *", LEASE_TTL_MS: "5000" });
    expect(cfg).toMatchObject({ maxBodyBytes: 2048, netuid: 7, canaryCron: "*/10 * * * *", billing: { leaseTtlMs: 5000 }, jwt: { autoProvision: true } });
  });

  it.each([
    ["MAX_BODY_BYTES", "lots", /MAX_BODY_BYTES must be an integer/],
    ["MINER_TIMEOUT_MS", "-1", /MINER_TIMEOUT_MS must be an integer/],
    ["LEASE_TTL_MS", "10", /LEASE_TTL_MS must be an integer from 1000/],
    ["NETUID", "70000", /NETUID must be an integer from 0 to 65535/],
    ["JWT_AUTO_PROVISION", "sometimes", /JWT_AUTO_PROVISION must be true or false/],
    ["JWT_JWKS_URL", "not a url", /JWT_JWKS_URL must be a URL/],
    ["JWT_ALGORITHMS", "HS256,none", /JWT_ALGORITHMS must not list 'none'/],
    ["CANARY_CRON", "hourly", /CANARY_CRON must be a cron expression/],
    ["MINER_MAX_ANSWER_BYTES", "16MB", /MINER_MAX_ANSWER_BYTES must be an integer from 1024/],
    ["MINER_MAX_EVENT_BYTES", "10", /MINER_MAX_EVENT_BYTES must be an integer from 1024/],
    ["MINER_MAX_STREAM_BYTES", "-1", /MINER_MAX_STREAM_BYTES must be an integer from 1024/],
    ["USAGE_BATCH_MS", "abc", /USAGE_BATCH_MS must be an integer from 1/],
    ["USAGE_BATCH_MAX_EVENTS", "0", /USAGE_BATCH_MAX_EVENTS must be an integer from 1/],
    ["USAGE_RECENT_PER_SUBSCRIBER", "-1", /USAGE_RECENT_PER_SUBSCRIBER must be an integer from 0/],
  ])("refuses %s=%j, naming it", (name, value, message) => {
    const err = refusal(() => parseGatewayConfig({ [name]: value }));
    expect(err.variable).toBe(name);
    expect(err.message).toMatch(message);
  });
});

describe("the web Worker's configuration", () => {
  const SECRET = "a-session-secret-of-at-least-32-characters";

  it("is off without SESSION_SECRET, and reads what is set", () => {
    expect(parseWebConfig({}).web).toBeNull();
    expect(parseWebConfig({})).toMatchObject({ publicBaseUrl: null, jwtIssuer: null, minerCacheTtlMs: 5_000 });
    const cfg = parseWebConfig({ SESSION_SECRET: SECRET, PUBLIC_BASE_URL: "https://gw.example/", OIDC_ISSUER: "https://idp.example/", OIDC_CLIENT_ID: "c", OIDC_CLIENT_SECRET: "s", KEYS_PER_HOUR: "5" });
    expect(cfg.publicBaseUrl).toBe("https://gw.example");
    expect(cfg.web).toMatchObject({ publicBaseUrl: "https://gw.example", oidc: { issuer: "https://idp.example", clientId: "c" }, keysPerHour: 5, signupsPerHour: 20, secureCookies: true, devSignIn: false, stripe: null });
  });

  it.each([
    [{ SESSION_SECRET: "too-short" }, "SESSION_SECRET"],
    [{ WEB_SESSION_TTL_SECONDS: "12h" }, "WEB_SESSION_TTL_SECONDS"],
    [{ SIGNUPS_PER_HOUR: "0" }, "SIGNUPS_PER_HOUR"],
    [{ KEYS_PER_HOUR: "many" }, "KEYS_PER_HOUR"],
    [{ OIDC_ISSUER: "https://idp.example" }, "OIDC_CLIENT_ID"],
    [{ OIDC_CLIENT_ID: "c", OIDC_CLIENT_SECRET: "s" }, "OIDC_ISSUER"],
    [{ OIDC_ISSUER: "idp.example", OIDC_CLIENT_ID: "c", OIDC_CLIENT_SECRET: "s" }, "OIDC_ISSUER"],
    [{ STRIPE_SECRET_KEY: "sk_test", STRIPE_API_BASE: "stripe" }, "STRIPE_API_BASE"],
    [{ PUBLIC_BASE_URL: "gateway.example" }, "PUBLIC_BASE_URL"],
    [{ MINER_CACHE_TTL_MS: "soon" }, "MINER_CACHE_TTL_MS"],
  ])("refuses %j, naming %s (never quoting a secret)", (vars, name) => {
    const err = refusal(() => parseWebConfig({ SESSION_SECRET: SECRET, ...vars }));
    expect(err.variable).toBe(name);
    expect(err.message).not.toContain("too-short");
  });
});

describe("chain Worker configuration", () => {
  it("has discovery and settlement off by default", () => {
    expect(parseChainConfig({ DB })).toEqual({ discovery: null, metagraphSyncCron: null, settlement: null, settlementCron: null });
  });

  it("turns discovery on with SUBTENSOR_URL and NETUID, and then needs the hotkey", () => {
    const env = { DB, SUBTENSOR_URL: "ws://127.0.0.1:9944", NETUID: "3" };
    expect(refusal(() => parseChainConfig(env)).variable).toBe("GATEWAY_HOTKEY_MNEMONIC");
    expect(parseChainConfig({ ...env, GATEWAY_HOTKEY_MNEMONIC: "//Alice", ALLOW_PRIVATE_AXONS: "true" }).discovery).toEqual({
      subtensorUrl: "ws://127.0.0.1:9944",
      netuid: 3,
      hotkeyUri: "//Alice",
      allowPrivateAxons: true,
    });
  });

  it("validates settlement at start, naming the variable and hiding secrets", () => {
    const base = { DB, SUBTENSOR_URL: "ws://127.0.0.1:9944", NETUID: "3", GATEWAY_HOTKEY_MNEMONIC: "//Alice", SETTLEMENT_ENABLED: "true" };
    expect(parseChainConfig(base).settlement).toMatchObject({ netuid: 3, payouts: null });
    expect(refusal(() => parseChainConfig({ ...base, SETTLEMENT_LAG_MS: "soon" })).variable).toBe("SETTLEMENT_LAG_MS");
    expect(refusal(() => parseChainConfig({ ...base, PAYOUT_ENABLED: "true" })).variable).toBe("PAYOUT_TREASURY_MNEMONIC");
    expect(refusal(() => parseChainConfig({ ...base, NETUID: undefined })).variable).toBe("NETUID");
    expect(refusal(() => parseChainConfig({ ...base, SETTLEMENT_ENABLED: "maybe" })).message).toMatch(/SETTLEMENT_ENABLED must be true or false/);
  });

  it("never quotes a secret's value", () => {
    expect(isSecret("PAYOUT_TREASURY_MNEMONIC")).toBe(true);
    const err = refusal(() => parseChainConfig({ DB, SETTLEMENT_ENABLED: "true", NETUID: "1", GATEWAY_HOTKEY_MNEMONIC: "//Alice", PAYOUT_ENABLED: "true", PAYOUT_TREASURY_MNEMONIC: "//T", PAYOUT_SHARE_BPS: "x" }));
    expect(err.variable).toBe("PAYOUT_SHARE_BPS");
    expect(err.message).not.toContain("//T");
  });
});

describe("the variable list", () => {
  it("names each variable once and gives every one a Worker", () => {
    const names = VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(variablesOf("gateway")).toContain("ADMIN_TOKEN");
    expect(variablesOf("chain")).toContain("SETTLEMENT_ENABLED");
    expect(variablesOf("chain")).not.toContain("ADMIN_TOKEN");
    // The web app's variables belong to the web Worker alone (the gateway never reads them).
    expect(variablesOf("web")).toEqual(expect.arrayContaining(["SESSION_SECRET", "OIDC_CLIENT_SECRET", "STRIPE_SECRET_KEY", "PUBLIC_BASE_URL", "ADMIN_TOKEN"]));
    expect(variablesOf("gateway")).not.toContain("SESSION_SECRET");
    expect(variablesOf("gateway")).not.toContain("PUBLIC_BASE_URL");
  });
});

describe("the dev fault-injection switch (src/dev/faults.ts)", () => {
  it("is not set by either Worker's production configuration, whose ENVIRONMENT is production", () => {
    const root = join(import.meta.dirname, "../../..");
    for (const file of ["wrangler.toml", "wrangler.chain.toml", "wrangler.web.toml"]) {
      const toml = readFileSync(join(root, file), "utf8");
      expect(toml, file).not.toMatch(/DEV_FAULT_INJECTION/);
      expect(toml, file).toMatch(/^ENVIRONMENT = "production"$/m);
    }
    expect(variablesOf("gateway")).toContain("DEV_FAULT_INJECTION");
    expect(isSecret("DEV_FAULT_INJECTION")).toBe(false);
  });
});
