/** Display formatting shared by the pages. */
import { formatUsd } from "../../../billing/pricing";

export const usd = (micro: number) => `$${formatUsd(micro)}`;

export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export const int = (n: number) => n.toLocaleString("en-US");

export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export const short = (s: string | null | undefined, n = 10) => (s ? (s.length > n ? `${s.slice(0, n)}…` : s) : "—");
