import type { Principal } from "../auth/authenticate";
import type { Config, Env } from "../env";

/** The Hono context every route and middleware sees: bindings plus the variables middlewares set. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    /** Set by `requireSubscriber`. */
    principal: Principal;
  };
}
