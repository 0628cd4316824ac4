/**
 * The benchmark's floor inside workerd: a Worker that does nothing but forward each request to the
 * upstream named in `x-upstream` and stream the answer back (no auth, limits, signing or metering).
 * Run by `wrangler dev` like the gateway, so its CPU per request is what the local runtime and
 * miniflare cost by themselves. `GET /health` answers without forwarding (bench/lib/targets.ts
 * finds the Worker's own socket with it).
 */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ ok: true });
    const upstream = request.headers.get("x-upstream");
    if (!upstream) return new Response("x-upstream is required", { status: 400 });
    return fetch(`${upstream}${url.pathname}`, { method: request.method, headers: request.headers, body: request.body });
  },
} satisfies ExportedHandler;
