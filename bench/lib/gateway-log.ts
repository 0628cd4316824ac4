/**
 * What the gateway logged during the run: wrangler prints the Worker's warnings and errors (and
 * its own) on its output; each line is counted by its message with ids and numbers blanked, so
 * the report can say what went wrong when a phase had failures.
 */
import type { ChildProcess } from "node:child_process";

export interface LoggedMessage {
  message: string;
  count: number;
}

const ANSI = /\u001b\[[0-9;]*m/g;
/** Lines worth reporting: wrangler's ✘/▲ markers, and the Worker's own error and warning lines. */
const NOTABLE = /\[(ERROR|WARNING)\]|error|warn|uncaught|unhandled|exception|hung|restarted/i;

function normalise(line: string): string {
  return line
    .replace(ANSI, "")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<uuid>")
    .replace(/\b(req|ub|sub|key)_[0-9a-z_]+/gi, "$1_<id>")
    // workerd's internal-error references
    .replace(/\b(reference = |wdErrId = )[0-9a-z]+/gi, "$1<ref>")
    .replace(/\b\d+(\.\d+)?\b/g, "#")
    .trim()
    .slice(0, 300);
}

export function watchLog(child: ChildProcess): { messages(): LoggedMessage[] } {
  const counts = new Map<string, number>();
  let partial = "";
  const onData = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!NOTABLE.test(line)) continue;
      const key = normalise(line);
      if (key !== "") counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return { messages: () => [...counts.entries()].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count) };
}
