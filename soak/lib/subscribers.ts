/**
 * The soak's subscribers: groups on the seeded plans (free: 20 rpm and 2 concurrent, the small plan
 * whose limits the soak hits; pro; unlimited) and on `soak-budget`, a plan with a tiny allowance
 * that runs out mid-run. Two more subscribers exist only for the concurrency probes, so a probe
 * wave finds the whole limit free. Everything through the admin API.
 */
import type { Admin } from "./admin";
import type { SubscriberGroup } from "./profile";

export interface PlanLimits {
  id: string;
  requestsPerMinute: number;
  concurrentRequests: number;
  allowanceMicroUsd: number;
}

export interface Subscriber {
  id: string;
  plan: PlanLimits;
  keys: string[];
}

export interface Subscribers {
  /** Traffic subscribers by group, in profile order. */
  groups: { group: SubscriberGroup; members: Subscriber[] }[];
  probeSmall: Subscriber;
  probeSliced: Subscriber;
  /** For the final clean requests. */
  final: Subscriber;
  all(): Subscriber[];
  plans: Map<string, PlanLimits>;
}

/** The budget plan: generous in rate, with an allowance (per profile) that runs out mid-run. */
const budgetPlan = (allowance: number) => ({
  id: "soak-budget",
  name: "Soak budget",
  allowance_micro_usd: allowance,
  requests_per_minute: 600,
  tokens_per_minute: 1_000_000,
  concurrent_requests: 20,
});

interface PlanJson {
  id: string;
  requests_per_minute: number;
  concurrent_requests: number;
  allowance_micro_usd: number;
}

export async function createSubscribers(admin: Admin, groups: readonly SubscriberGroup[], budgetMicroUsd: number): Promise<Subscribers> {
  await admin.call("POST", "/admin/plans", budgetPlan(budgetMicroUsd));
  const plans = new Map<string, PlanLimits>();
  for (const p of (await admin.call<{ data: PlanJson[] }>("GET", "/admin/plans")).data) {
    plans.set(p.id, { id: p.id, requestsPerMinute: p.requests_per_minute, concurrentRequests: p.concurrent_requests, allowanceMicroUsd: p.allowance_micro_usd });
  }
  const planOf = (id: string): PlanLimits => {
    const p = plans.get(id);
    if (!p) throw new Error(`soak: no plan ${id}`);
    return p;
  };
  let n = 0;
  const make = async (planId: string, label: string, keys: number): Promise<Subscriber> => {
    const id = `sub_soak_${label}_${++n}`;
    await admin.call("POST", "/admin/subscribers", { id, name: `Soak ${label} ${n}`, plan_id: planId });
    const issued: string[] = [];
    for (let k = 0; k < keys; k++) issued.push((await admin.call<{ key: string }>("POST", `/admin/subscribers/${id}/keys`, { name: `soak ${k + 1}` })).key);
    return { id, plan: planOf(planId), keys: issued };
  };
  const out: Subscribers["groups"] = [];
  for (const group of groups) {
    const members: Subscriber[] = [];
    for (let i = 0; i < group.count; i++) members.push(await make(group.plan, group.plan.replace(/[^a-z]/g, ""), group.keysEach));
    out.push({ group, members });
  }
  const probeSmall = await make("free", "probe", 1);
  const probeSliced = await make("pro", "probe", 1);
  const final = await make("unlimited", "final", 1);
  return {
    groups: out,
    probeSmall,
    probeSliced,
    final,
    plans,
    all: () => [...out.flatMap((g) => g.members), probeSmall, probeSliced, final],
  };
}
