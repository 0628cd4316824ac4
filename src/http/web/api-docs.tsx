/** GET /docs/api: the OpenAPI document rendered on the server (no client-side renderer, no CDN). */
import { raw } from "hono/html";
import type { JsonObject } from "../../lib/json";
import { isObject } from "../../lib/json";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function Json(props: { value: unknown }) {
  return <pre><code>{JSON.stringify(props.value, null, 2)}</code></pre>;
}

export function renderApiDocs(doc: JsonObject): string {
  const paths = isObject(doc.paths) ? doc.paths : {};
  const schemas = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
  const byTag = new Map<string, { method: string; path: string; op: JsonObject }[]>();
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const tag = Array.isArray(op.tags) && typeof op.tags[0] === "string" ? op.tags[0] : "Other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
    }
  }
  const refName = (op: JsonObject): string | null => {
    const body = op.requestBody;
    const ref = isObject(body) && isObject(body.content) && isObject(body.content["application/json"]) && isObject(body.content["application/json"].schema) ? body.content["application/json"].schema.$ref : null;
    return typeof ref === "string" ? ref.split("/").pop() ?? null : null;
  };
  const page = (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>API reference · Bittensor gateway</title>
          <link rel="stylesheet" href="/static/app.css" />
        </head>
        <body>
          <header class="top">
            <a class="brand" href="/app/keys">τ gateway</a>
            <nav><a href="/docs/api" class="active">API reference</a><a href="/openapi.json">openapi.json</a></nav>
          </header>
          <main>
            <h1>API reference</h1>
            <p class="muted">OpenAPI {String(doc.openapi)} · generated from the gateway's route list and request schemas · <a href="/openapi.json">download</a></p>
            {[...byTag.entries()].map(([tag, ops]) => (
              <section class="card" id={`tag-${tag}`}>
                <h2>{tag}</h2>
                {ops.map(({ method, path, op }) => {
                  const name = refName(op);
                  return (
                    <details class="operation" data-operation={String(op.operationId)}>
                      <summary><span class="pill">{method.toUpperCase()}</span> <code>{path}</code> — {String(op.summary ?? "")}</summary>
                      {name && schemas[name] ? (
                        <>
                          <p>Body: <code>{name}</code></p>
                          <Json value={schemas[name]} />
                        </>
                      ) : null}
                    </details>
                  );
                })}
              </section>
            ))}
          </main>
        </body>
      </html>
    </>
  );
  return page.toString();
}
