/**
 * Node side of the workerd tests: real reference miners (honest and misbehaving) and a JWKS
 * endpoint on loopback, handed to the tests as the TEST_FIXTURES binding. Stopped at the end.
 */
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair } from "jose";
import type { TestProject } from "vitest/node";
import { startMiner } from "../../miner/server";
import { freePort } from "../../scripts/lib/processes";
import { startSr25519Verifier } from "../support/sr25519-verifier";
import { keypairFromUri } from "../../src/protocol/keys";
import { startInternalService, startRedirectingMiner } from "../support/redirect-servers";
import type { Fixtures } from "./fixtures";

const POISON_PILL = "POISON-PILL-7f3a";

export default async function setup(project: TestProject) {
  const models = ["demo/tiny-chat", "demo/tiny-embed"];
  const started = await Promise.all([
    startMiner({ hotkey: "//Bob", models: [...models, "test/failover", "test/stream-failover"] }),
    startMiner({ hotkey: "//Charlie", models }),
    startMiner({ hotkey: "//Dave", models: ["test/failing", "test/failover", "test/stream-failover"], failRate: 1 }),
    startMiner({ hotkey: "//Eve", models: ["test/slow"], ttftMs: 5_000 }),
    startMiner({ hotkey: "//Ferdie", models: ["test/malformed"], malformedStream: true }),
    startMiner({ hotkey: "//Miner6", models: ["test/dropping"], dropAfterTokens: 3 }),
  ]);
  const [bob, charlie, dave, eve, ferdie, dropper] = started.map((m) => ({ hotkey: m.hotkey, url: m.url })) as [
    Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"],
  ];
  // Limits and billing: a paced miner keeps requests in flight, an honest one and an over-reporting one are priced.
  const billingMiners = await Promise.all([
    startMiner({ hotkey: "//Miner7", models: ["test/paced"], tokensPerSec: 4 }),
    startMiner({ hotkey: "//Miner8", models: ["test/priced"] }),
    startMiner({ hotkey: "//Miner9", models: ["test/over-report"], overReport: 3 }),
  ]);
  started.push(...billingMiners);
  const [paced, priced, overReporting] = billingMiners.map((m) => ({ hotkey: m.hotkey, url: m.url })) as [
    Fixtures["failing"], Fixtures["failing"], Fixtures["failing"],
  ];

  // Routing: one fast honest miner and four that misbehave in one way each, all serving the
  // routing scenarios' models (each scenario registers only the miners it needs).
  const routeModels = ["route/mix", "route/honesty", "route/canary"];
  const routingMiners = await Promise.all([
    startMiner({ hotkey: "//Route1", models: routeModels, ttftMs: 20, tokensPerSec: 2_000 }),
    startMiner({ hotkey: "//Route2", models: routeModels, ttftMs: 100, tokensPerSec: 2_000 }),
    startMiner({ hotkey: "//Route3", models: routeModels, ttftMs: 20, tokensPerSec: 2_000, failRate: 0.3, seed: 7 }),
    startMiner({ hotkey: "//Route4", models: routeModels, ttftMs: 20, tokensPerSec: 2_000, overReport: 2 }),
    startMiner({ hotkey: "//Route5", models: routeModels, ttftMs: 20, tokensPerSec: 2_000, garbage: true }),
  ]);
  started.push(...routingMiners);
  const [fast, slow5x, flaky, overReporter, garbage] = routingMiners.map((m) => ({ hotkey: m.hotkey, url: m.url })) as [
    Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"],
  ];

  // Poisoned requests: three honest miners that all crash (HTTP 500) on bodies containing the pill.
  const poisonMiners = await Promise.all(
    [1, 2, 3].map((i) => startMiner({ hotkey: `//Poison${i}`, models: ["test/poison", "test/big-embed"], failOnText: POISON_PILL, ttftMs: 0, tokensPerSec: 100_000 })),
  );
  started.push(...poisonMiners);
  const poisoned = poisonMiners.map((m) => ({ hotkey: m.hotkey, url: m.url }));

  // SSRF through redirects: miners answering 307/302 towards an internal service that counts hits.
  const internal = await startInternalService();
  const redirectors = await Promise.all([startRedirectingMiner(307, internal.url), startRedirectingMiner(302, internal.url)]);
  const [temporary, found] = redirectors.map((m, i) => ({ hotkey: keypairFromUri(`//Redirect${i + 1}`).ss58, url: m.url })) as [
    Fixtures["failing"], Fixtures["failing"],
  ];

  // Routing under load: fast / 8x slower / 30% failing, and a fast miner capped at 2 concurrent
  // requests (it queues beyond) beside an uncapped one 3x slower to start. TTFTs are those of a
  // real model (250 ms, the slow one 2 s) so that 32 requests in flight ask this shared 2-core
  // machine for ~130 gateway requests a second, which it can serve: with 60 ms miners the same
  // concurrency asks for ~500, the gateway itself queues, and every miner looks slow. They skip
  // verifying Epistula (the gateway still signs every request; verification has its own tests):
  // every miner of this suite shares this one Node process, and at 32 requests in flight its CPU
  // should go to answering, not to pure-JS sr25519 verification.
  const loadModels = ["load/mix", "load/saturating"];
  const loadMiners = await Promise.all([
    startMiner({ hotkey: "//Load1", models: loadModels, epistula: false, ttftMs: 250, tokensPerSec: 2_000 }),
    startMiner({ hotkey: "//Load2", models: loadModels, epistula: false, ttftMs: 2_000, tokensPerSec: 2_000 }),
    startMiner({ hotkey: "//Load3", models: loadModels, epistula: false, ttftMs: 250, tokensPerSec: 2_000, failRate: 0.3, seed: 11 }),
    startMiner({ hotkey: "//Load4", models: loadModels, epistula: false, ttftMs: 250, tokensPerSec: 2_000, maxConcurrency: 2 }),
    startMiner({ hotkey: "//Load5", models: loadModels, epistula: false, ttftMs: 750, tokensPerSec: 2_000 }),
  ]);
  started.push(...loadMiners);
  const [loadFast, loadSlow, loadFlaky, loadCapped, loadNext] = loadMiners.map((m) => ({ hotkey: m.hotkey, url: m.url })) as [
    Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"], Fixtures["failing"],
  ];

  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const rsaPrivateJwk = { ...(await exportJWK(privateKey)), kid: "test-key", alg: "RS256" };
  const jwks: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
  const jwksAddr = jwks.address();
  const jwksPort = typeof jwksAddr === "object" && jwksAddr ? jwksAddr.port : 0;

  const sr25519Verifier = await startSr25519Verifier();
  // Continuation: one honest miner and one per way a stream can fail, all serving cont/chat (same
  // model, so the deterministic answers agree). Fast pacing; the stalls outlast the test timeouts.
  const contFast = { models: ["cont/chat"], ttftMs: 0, tokensPerSec: 5_000 };
  const contMiners = await Promise.all([
    startMiner({ hotkey: "//Cont0", ...contFast }),
    startMiner({ hotkey: "//Cont1", ...contFast, dropAfterTokens: 3 }),
    startMiner({ hotkey: "//Cont2", ...contFast, stallAfterTokens: 3 }),
    startMiner({ hotkey: "//Cont3", ...contFast, errorEventAfterTokens: 3 }),
    startMiner({ hotkey: "//Cont4", ...contFast, finishErrorAfterTokens: 3 }),
    startMiner({ hotkey: "//Cont5", ...contFast, malformedStream: true }),
    startMiner({ hotkey: "//Cont6", ...contFast, emptyStream: true }),
    startMiner({ hotkey: "//Cont7", ...contFast, stallAfterTokens: 0 }),
    startMiner({ hotkey: "//Cont8", ...contFast, errorEventAfterTokens: 0 }),
    startMiner({ hotkey: "//Cont9", ...contFast, finishErrorAfterTokens: 0 }),
  ]);
  started.push(...contMiners);
  const contFixture = (i: number) => ({ hotkey: contMiners[i]!.hotkey, url: contMiners[i]!.url });
  const continuation = {
    healthy: contFixture(0),
    midStream: { drop: contFixture(1), stall: contFixture(2), errorEvent: contFixture(3), finishError: contFixture(4), malformed: contFixture(5) },
    beforeContent: { empty: contFixture(6), silent: contFixture(7), errorFirst: contFixture(8), finishErrorFirst: contFixture(9) },
  };

  // Test-only control server: a miner's own counters (`GET /stats?hotkey=`), for assertions about
  // what the miner saw (its TTFT as served, its peak concurrency) that the gateway cannot report.
  const byHotkey = new Map(started.map((m) => [m.hotkey, m]));
  const control: Server = createServer((req, res) => {
    const hotkey = new URL(req.url ?? "/", "http://control").searchParams.get("hotkey") ?? "";
    const m = byHotkey.get(hotkey);
    res.writeHead(m ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(m ? m.stats() : { error: "unknown miner" }));
  });
  await new Promise<void>((r) => control.listen(0, "127.0.0.1", r));
  const controlAddr = control.address();
  const controlPort = typeof controlAddr === "object" && controlAddr ? controlAddr.port : 0;

  const fixtures: Fixtures = {
    healthy: [bob, charlie],
    failing: dave,
    slow: eve,
    malformed: ferdie,
    dropping: dropper,
    paced,
    priced,
    overReporting,
    routing: { fast, slow: slow5x, flaky, overReporter, garbage },
    redirecting: { internalUrl: internal.url, temporary, found },
    poisoned,
    poisonPill: POISON_PILL,
    load: { fast: loadFast, slow: loadSlow, flaky: loadFlaky, capped: loadCapped, next: loadNext },
    loadLevels: (process.env.ROUTING_LOAD_LEVELS ?? "8").split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0),
    loadSaturating: process.env.ROUTING_LOAD_SATURATING === "1",
    continuation,
    minerStatsUrl: `http://127.0.0.1:${controlPort}/stats`,
    unreachableUrl: `http://127.0.0.1:${await freePort()}`,
    jwksUrl: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`,
    rsaPrivateJwk,
    sr25519VerifierUrl: sr25519Verifier.url,
  };
  project.provide("fixtures", fixtures);

  return async () => {
    await Promise.all(started.map((m) => m.close()));
    await new Promise<void>((r) => jwks.close(() => r()));
    await sr25519Verifier.close();
    await Promise.all([internal.close(), ...redirectors.map((r) => r.close())]);
    await new Promise<void>((r) => control.close(() => r()));
  };
}
