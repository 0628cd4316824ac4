/** Shared parsing of `since` / `until` query parameters (RFC 3339 or Unix seconds). */
import { invalidRequest } from "../../errors";

export function timeParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidRequest(`'${name}' must be RFC 3339 or Unix seconds.`, name, "invalid_value");
  return ms;
}
