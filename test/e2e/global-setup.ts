/** Starts one dev stack (the same code as `npm run dev`) for the end-to-end suite. */
import type { TestProject } from "vitest/node";
import { startDevStack } from "../../scripts/lib/dev-stack";

declare module "vitest" {
  export interface ProvidedContext {
    gatewayUrl: string;
    devKey: string;
    adminToken: string;
  }
}

export default async function setup(project: TestProject) {
  // Paced so a stream lasts long enough (~1 s) for a client to disconnect in the middle of it.
  const paced = { args: ["--tokens-per-sec", "60"] };
  const stack = await startDevStack({
    echo: process.env.E2E_ECHO === "1",
    miners: [{ hotkeyUri: "//Bob", ...paced }, { hotkeyUri: "//Charlie", ...paced }, { hotkeyUri: "//Dave", ...paced }],
  });
  project.provide("gatewayUrl", stack.url);
  project.provide("devKey", stack.devKey);
  project.provide("adminToken", stack.adminToken);
  return () => stack.stop();
}
