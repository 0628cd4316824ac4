// Entry of a throwaway module Worker that runs syncMetagraph inside workerd (Miniflare), the
// runtime the gateway's scheduled handler uses. Loaded the same way: a dynamic import.
import type { D1Database } from "@cloudflare/workers-types";

type Env = { DB: D1Database; NETUID: string };

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const chain = new URL(request.url).searchParams.get("chain") ?? "";
    try {
      const { syncMetagraph } = await import("../../../../src/chain/sync");
      const report = await syncMetagraph(
        { DB: env.DB, SUBTENSOR_URL: chain, NETUID: env.NETUID, GATEWAY_HOTKEY_MNEMONIC: "//Gateway", ALLOW_PRIVATE_AXONS: "true" },
        { log: () => {}, connectTimeoutMs: 5_000 },
      );
      return Response.json({ report });
    } catch (err) {
      return Response.json({ error: err instanceof Error ? err.name : "unknown", message: String(err) }, { status: 500 });
    }
  },
};
