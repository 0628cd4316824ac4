/** The page shell: header with navigation, sign-out form, and the static stylesheet and script. */
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { WebSession } from "../../../web/sessions";

export interface PageProps {
  title: string;
  session: WebSession | null;
  csrf: string;
  /** Path of the current page, to mark the active tab. */
  path: string;
  scripts?: string[];
  children?: Child;
}

const SUBSCRIBER_NAV = [
  ["/app/keys", "Keys"],
  ["/app/usage", "Usage"],
  ["/app/plan", "Plan"],
  ["/app/quickstart", "Quick start"],
] as const;

const OPERATOR_NAV = [
  ["/console", "Miners"],
  ["/console/settlements", "Settlements"],
  ["/console/subscribers", "Subscribers"],
  ["/console/plans", "Plans"],
  ["/console/prices", "Prices"],
] as const;

export function CsrfField(props: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={props.csrf} />;
}

export function Layout(props: PageProps) {
  const nav = props.session?.role === "operator" ? OPERATOR_NAV : props.session ? SUBSCRIBER_NAV : [];
  return (
    <>
    {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Bittensor gateway`}</title>
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/app.js" defer></script>
        {(props.scripts ?? []).map((s) => (
          <script src={s} defer></script>
        ))}
      </head>
      <body>
        <header class="top">
          <a class="brand" href={props.session?.role === "operator" ? "/console" : "/app/keys"}>
            τ gateway{props.session?.role === "operator" ? <span class="badge">operator</span> : null}
          </a>
          <nav>
            {nav.map(([href, label]) => (
              <a href={href} class={props.path === href ? "active" : undefined}>
                {label}
              </a>
            ))}
          </nav>
          {props.session ? (
            <form method="post" action="/auth/logout" class="signout">
              <CsrfField csrf={props.csrf} />
              <button type="submit" class="link">Sign out</button>
            </form>
          ) : null}
        </header>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
    </>
  );
}

export function ErrorPage(props: { status: number; message: string; session: WebSession | null; csrf: string }) {
  return (
    <Layout title={props.status === 404 ? "Not found" : "Something went wrong"} session={props.session} csrf={props.csrf} path="">
      <p class="error" role="alert">{props.message}</p>
      <p>
        <a href={props.session ? (props.session.role === "operator" ? "/console" : "/app/keys") : "/auth/login"}>Back</a>
      </p>
    </Layout>
  );
}
