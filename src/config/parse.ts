/**
 * Reading one variable from a Worker's string bindings. Every failure is a ConfigError that names
 * the variable and, unless it is a secret, quotes the value it refused.
 */
import { isSecret } from "./variables";

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Configuration ${variable} ${detail}`);
  }
}

function shown(name: string, value: string): string {
  return isSecret(name) ? "<secret>" : JSON.stringify(value);
}

/** The trimmed value, or undefined when unset or blank. */
export function text(value: string | undefined): string | undefined {
  const t = value?.trim();
  return t ? t : undefined;
}

export function integer(name: string, value: string | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const t = text(value);
  if (t === undefined) return fallback;
  if (!/^[0-9]+$/.test(t) || Number(t) < min || Number(t) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got ${shown(name, t)}`);
  }
  return Number(t);
}

export function optionalInteger(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return text(value) === undefined ? undefined : integer(name, value, 0, min, max);
}

const TRUE = /^(1|true|yes)$/i;
const FALSE = /^(0|false|no)$/i;

export function flag(name: string, value: string | undefined, fallback = false): boolean {
  const t = text(value);
  if (t === undefined) return fallback;
  if (TRUE.test(t)) return true;
  if (FALSE.test(t)) return false;
  throw new ConfigError(name, `must be true or false, got ${shown(name, t)}`);
}

export function url(name: string, value: string | undefined, protocols: readonly string[]): string | undefined {
  const t = text(value);
  if (t === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(t);
  } catch {
    throw new ConfigError(name, `must be a URL, got ${shown(name, t)}`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must be a ${protocols.join(" or ")} URL, got ${shown(name, t)}`);
  return t;
}

/** A five-field cron expression as wrangler.toml lists it (only its shape is checked). */
export function cron(name: string, value: string | undefined): string | undefined {
  const t = text(value);
  if (t === undefined) return undefined;
  if (t.split(/\s+/).length !== 5) throw new ConfigError(name, `must be a cron expression with five fields, got ${shown(name, t)}`);
  return t;
}
