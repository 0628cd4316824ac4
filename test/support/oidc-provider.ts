/**
 * A real OpenID Connect provider for the browser tests: the `oidc-provider` package (a certified
 * OP implementation) on 127.0.0.1 with a free port. Its development interactions show a login form
 * that accepts any login name and password, then a consent screen; the account's e-mail is
 * `<login>@example.test`, verified unless the login starts with "unverified".
 */
import { createServer, type Server } from "node:http";
import Provider from "oidc-provider";
import { freePort } from "../../scripts/lib/processes";

export interface RunningOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export async function startOidcProvider(opts: { redirectUris: string[] }): Promise<RunningOidcProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = "gateway-web";
  const clientSecret = `secret-${crypto.randomUUID()}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // Like Google, Auth0 and Keycloak: the requested claims are in the ID token itself.
    conformIdTokenClaims: false,
    cookies: { keys: [crypto.randomUUID()] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.test`, email_verified: !id.startsWith("unverified"), name: `Test ${id}` }),
    }),
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    clientId,
    clientSecret,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
