/** Display formatting shared by the pages. */
import { formatUsd } from "../../../billing/pricing";

/** Dollars for people: cents once there are any, the exact micro-dollar figure below a cent. */
export const usd = (micro: number) =>
  Math.abs(micro) >= 10_000 || micro === 0
    ? `$${(micro / 1_000_000).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
    : `$${formatUsd(micro)}`;

export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export const int = (n: number) => n.toLocaleString("en-US");

export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export const short = (s: string | null | undefined, n = 10) => (s ? (s.length > n ? `${s.slice(0, n)}…` : s) : "—");
