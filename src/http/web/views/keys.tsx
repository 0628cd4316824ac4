import type { IssuedKey } from "../../../billing/subscribers";
import type { KeyView } from "../../../web/dashboard";
import { int, usd, when } from "./format";
import { CsrfField } from "./layout";

export function NewKeyNotice(props: { issued: IssuedKey }) {
  return (
    <section class="card notice" id="new-key">
      <h2>Your new key{props.issued.name ? ` “${props.issued.name}”` : ""}</h2>
      <p>Copy it now: it is shown this once and never again.</p>
      <div class="copy-row">
        <code id="new-key-value">{props.issued.key}</code>
        <button type="button" data-copy="new-key-value">Copy</button>
      </div>
    </section>
  );
}

export function KeysPage(props: { keys: KeyView[]; csrf: string; error?: string }) {
  return (
    <>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      <form method="post" action="/app/keys" class="card inline-form">
        <CsrfField csrf={props.csrf} />
        <label>
          Name <input name="name" maxlength={80} placeholder="e.g. laptop, ci, claude-code" />
        </label>
        <button type="submit" class="primary" id="create-key">Create key</button>
      </form>
      <div class="table-wrap">
        <table id="keys">
          <thead>
            <tr>
              <th>Name</th><th>Key</th><th>Created</th><th>Last used</th><th class="num">Requests</th><th class="num">Tokens</th><th class="num">Cost</th><th></th>
            </tr>
          </thead>
          <tbody>
            {props.keys.length === 0 ? (
              <tr><td colspan={8} class="muted">No keys yet.</td></tr>
            ) : (
              props.keys.map((k) => (
                <tr data-key-id={k.id} class={k.revokedAt ? "revoked" : undefined}>
                  <td data-label="Name">{k.name ?? "—"}</td>
                  <td data-label="Key"><code>{k.prefix}…</code></td>
                  <td data-label="Created">{when(k.createdAt)}</td>
                  <td data-label="Last used">{when(k.lastUsedAt)}</td>
                  <td data-label="Requests" class="num">{int(k.requests)}</td>
                  <td data-label="Tokens" class="num">{int(k.tokens)}</td>
                  <td data-label="Cost" class="num">{usd(k.costMicroUsd)}</td>
                  <td>
                    {k.revokedAt ? (
                      <span class="muted">revoked {when(k.revokedAt)}</span>
                    ) : (
                      <form method="post" action={`/app/keys/${k.id}/revoke`}>
                        <CsrfField csrf={props.csrf} />
                        <button type="submit" class="danger">Revoke</button>
                      </form>
                    )}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}
