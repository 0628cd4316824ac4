/** The gateway's admin API as the soak uses it (bearer ADMIN_TOKEN). Every call that fails throws with the answer. */
export interface Admin {
  url: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export function adminClient(url: string, token: string): Admin {
  return {
    url,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
      return JSON.parse(text) as T;
    },
  };
}

/** A registered miner as PUT /admin/miners takes it. */
export interface MinerRegistration {
  hotkey: string;
  uid: number;
  axon_url: string;
  models: string[];
}

export async function registerMiners(admin: Admin, miners: readonly MinerRegistration[]): Promise<void> {
  await admin.call("PUT", "/admin/miners", { miners });
}
