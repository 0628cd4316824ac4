// Reads read-only shared material (never copied into the repo): $SHARED_DIR or ../shared beside the repo.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function sharedPath(...parts: string[]): string {
  const base = process.env.SHARED_DIR ?? path.resolve(repoRoot, "../shared");
  return path.join(base, ...parts);
}

export type VectorHeaders = Record<string, string>;
export type ValidVector = {
  body_utf8: string;
  body_sha256_hex: string;
  uuid: string;
  timestamp_ms: string;
  signed_for: string;
  message: string;
  signature: string;
  headers?: VectorHeaders;
};
export type InvalidVector = Omit<ValidVector, "body_sha256_hex" | "message" | "headers"> & { why: string };
export type Party = { uri: string; ss58: string; publicKey: string };
export type EpistulaVectors = { signer: Party; receiver: Party; valid: ValidVector[]; invalid: InvalidVector[] };

export function loadEpistulaVectors(): EpistulaVectors {
  return JSON.parse(readFileSync(sharedPath("protocol", "epistula-v2-vectors.json"), "utf8")) as EpistulaVectors;
}
