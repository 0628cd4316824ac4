/**
 * Real coding-agent CLIs from npm, run non-interactively against the dev stack with nothing but
 * a base URL and a key, each completing a turn that includes a tool call:
 *  - Claude Code (print mode) over the Anthropic Messages API, streamed;
 *  - Codex (`codex exec`, custom provider) over the Responses API, streamed.
 * The reference miner calls a tool when the user's message names it and then answers
 * "The tool returned: …" quoting the tool's output, so each run proves the whole loop: the
 * tool call reached the agent, the agent ran it, and its result came back to the model.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `agent-${label}-`));
  scratch.push(dir);
  return dir;
}

/** Runs a CLI to completion with stdin closed; resolves with its exit code and output. */
function run(bin: string, args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(join(ROOT, "node_modules/.bin", bin), args, { cwd, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

type Line = Record<string, unknown>;
const jsonLines = (out: string): Line[] =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);

describe("coding-agent CLIs against the dev stack", () => {
  it("Claude Code (print mode) completes a turn with a Bash tool call", async () => {
    const home = tempDir("claude-home");
    const cwd = tempDir("claude-work");
    const { code, stdout, stderr } = await run(
      "claude",
      ["-p", "Use Bash to list the files", "--model", "demo/tiny-chat", "--allowedTools", "Bash", "--output-format", "stream-json", "--verbose"],
      cwd,
      {
        HOME: home,
        ANTHROPIC_BASE_URL: inject("gatewayUrl"),
        ANTHROPIC_API_KEY: inject("devKey"),
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      },
    );
    expect(code, stderr).toBe(0);
    const lines = jsonLines(stdout);
    const blocks = (type: string) =>
      lines.filter((l) => l.type === type).flatMap((l) => ((l.message as { content: unknown }).content as Line[]).filter((b) => typeof b === "object"));
    const toolUse = blocks("assistant").find((b) => b.type === "tool_use");
    expect(toolUse, stdout).toMatchObject({ name: "Bash" });
    const toolResult = blocks("user").find((b) => b.type === "tool_result");
    expect(toolResult).toMatchObject({ tool_use_id: toolUse!.id });
    const texts = blocks("assistant").filter((b) => b.type === "text").map((b) => b.text as string);
    expect(texts.some((t) => t.startsWith("The tool returned:")), stdout).toBe(true);
    const results = lines.filter((l) => l.type === "result");
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r).toMatchObject({ subtype: "success", is_error: false });
  });

  it("Codex (exec, custom provider) completes a turn with an exec_command tool call", async () => {
    const home = tempDir("codex-home");
    const cwd = tempDir("codex-work");
    writeFileSync(
      join(home, "config.toml"),
      [
        'model = "demo/tiny-chat"',
        'model_provider = "gateway"',
        "",
        "[model_providers.gateway]",
        'name = "Bittensor gateway"',
        `base_url = "${inject("gatewayUrl")}/v1"`,
        'env_key = "GATEWAY_API_KEY"',
        'wire_api = "responses"',
        "",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await run(
      "codex",
      // No sandbox: the test machine has no bubblewrap; the command runs in a scratch directory.
      ["exec", "--skip-git-repo-check", "--sandbox", "danger-full-access", "--json", "Use exec_command to list the files"],
      cwd,
      { HOME: home, CODEX_HOME: home, GATEWAY_API_KEY: inject("devKey") },
    );
    expect(code, stderr).toBe(0);
    const items = jsonLines(stdout)
      .filter((l) => l.type === "item.completed")
      .map((l) => l.item as Line);
    const command = items.find((i) => i.type === "command_execution");
    expect(command, stdout).toBeDefined();
    expect(typeof command!.exit_code).toBe("number");
    const message = items.find((i) => i.type === "agent_message");
    expect(message?.text as string, stdout).toMatch(/^The tool returned: /);
    expect(jsonLines(stdout).some((l) => l.type === "turn.completed")).toBe(true);
    expect(jsonLines(stdout).some((l) => l.type === "turn.failed" || l.type === "error")).toBe(false);
  });
});
