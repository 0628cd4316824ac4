/**
 * The many-keys workload's subscribers: `count` subscribers, each with its own API key, created
 * through the admin API before any phase runs, on a plan a paying customer would have (so each
 * one's limits object slices it as in production; the dev subscriber is on `unlimited`).
 */

export interface Seeded {
  subscriberIds: string[];
  /** `Bearer <key>` values, one per subscriber, for the load generator to rotate through. */
  authorizations: string[];
}

export async function seedSubscribers(url: string, adminToken: string, count: number, planId: string, concurrency = 8): Promise<Seeded> {
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`seeding: POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const subscriberIds: string[] = new Array<string>(count);
  const authorizations: string[] = new Array<string>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const id = `sub_bench_${String(i).padStart(5, "0")}`;
      await post("/admin/subscribers", { id, name: `bench ${i}`, plan_id: planId });
      const issued = await post<{ key: string }>(`/admin/subscribers/${id}/keys`, { name: "bench" });
      subscriberIds[i] = id;
      authorizations[i] = `Bearer ${issued.key}`;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { subscriberIds, authorizations };
}
