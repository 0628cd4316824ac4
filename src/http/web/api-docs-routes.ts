/**
 * The API reference: GET /openapi.json (the document) and GET /docs/api (a page rendering it).
 * Public, and independent of the web app proper: they answer without SESSION_SECRET, sessions or
 * CSRF. The document is built from the operation list and the request-body definitions the
 * gateway's validators use (src/api-spec/), once per server URL and isolate.
 */
import type { Hono } from "hono";
import { openApiDocument } from "../../api-spec/openapi";
import { webWorkerConfig } from "../../config/web";
import { renderApiDocs } from "./api-docs";
import type { WebEnv } from "./web-env";

export function registerApiDocsRoutes(web: Hono<WebEnv>): void {
  web.get("/openapi.json", (c) => c.json(openApiDocument(webWorkerConfig(c.env).publicBaseUrl ?? new URL(c.req.url).origin)));
  web.get("/docs/api", (c) =>
    c.html(renderApiDocs(openApiDocument(null)), 200, {
      "content-security-policy": "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
    }),
  );
}
