/** The Hono context of the web Worker's router (src/http/web/web-app.tsx). */
import type { WebWorkerEnv } from "../../env";
import type { WebConfig } from "../../web/config";
import type { WebSession } from "../../web/sessions";

export interface WebEnv {
  Bindings: WebWorkerEnv;
  Variables: {
    web: WebConfig;
    session: WebSession | null;
    /** The CSRF token forms on this page carry. */
    csrf: string;
    /** Origin used for links, redirect URIs and snippets. */
    base: string;
  };
}
