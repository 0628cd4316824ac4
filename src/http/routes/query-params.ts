/** Shared parsing of query parameters: times (`since` / `until`, RFC 3339 or Unix seconds) and integers. */
import { invalidRequest } from "../../errors";

export function timeParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidRequest(`'${name}' must be RFC 3339 or Unix seconds.`, name, "invalid_value");
  return ms;
}

/** An integer query parameter in [min, max]; the message quotes what was sent. */
export function intParam(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) {
    throw invalidRequest(`Invalid value for '${name}': expected an integer from ${min} to ${max}, but got '${value.slice(0, 64)}'.`, name, "invalid_value");
  }
  const n = Number(value);
  if (n < min || n > max) throw invalidRequest(`'${name}' must be an integer from ${min} to ${max}, got ${value.slice(0, 64)}.`, name, "invalid_value");
  return n;
}
