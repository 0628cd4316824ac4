/**
 * The web Worker: a separate script (wrangler.web.toml) for the self-service web app, the operator
 * console, /openapi.json, /docs/api and their static files. The gateway forwards those paths to it
 * unchanged over its WEB service binding (src/http/routes/web-forward.ts), so people use one URL
 * while none of this code (Hono JSX pages, OpenID Connect, sessions, the OpenAPI document) is in the
 * gateway's bundle: API isolates never parse it (figures in docs/web-app.md, "Its own Worker").
 *
 * It has no public route of its own (`workers_dev = false`); the entry point only composes.
 */
import type { WebWorkerEnv } from "./env";
import { serveWeb } from "./http/web/web-app";

export default {
  fetch: (request, env, ctx) => serveWeb(request, env, ctx),
} satisfies ExportedHandler<WebWorkerEnv>;
