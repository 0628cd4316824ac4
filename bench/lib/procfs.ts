/**
 * What the kernel knows about the processes under test (Linux /proc only): CPU time, resident
 * memory, the process tree and listening TCP ports. The benchmark reads these instead of asking
 * the processes, so the measurement costs the measured process nothing.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { execFileSync } from "node:child_process";

/** Kernel clock ticks per second (USER_HZ); utime/stime in /proc/<pid>/stat are in these. */
const TICKS_PER_SEC = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the `(comm)` part, which may itself contain spaces. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** User + system CPU time of one process so far, in microseconds (tick resolution: 10 ms). */
export function cpuMicros(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  // After "(comm) ": state=0 ppid=1 ... utime=11 stime=12 (man 5 proc, fields 14 and 15).
  const ticks = Number(f[11]) + Number(f[12]);
  return Math.round((ticks * 1_000_000) / TICKS_PER_SEC);
}

export function cpuMicrosOf(pids: readonly number[]): number {
  return pids.reduce((sum, p) => sum + cpuMicros(p), 0);
}

function statusKib(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set size now, KiB. */
export const rssKib = (pid: number): number => statusKib(pid, "VmRSS");
/** Peak resident set size since the process started (the kernel's high-water mark), KiB. */
export const peakRssKib = (pid: number): number => statusKib(pid, "VmHWM");

function ppidOf(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[1]) : -1;
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
  } catch {
    return [];
  }
}

/** Every live descendant of `root` (children, grandchildren, ...). */
export function descendants(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const parent = ppidOf(pid);
    const list = byParent.get(parent);
    if (list) list.push(pid);
    else byParent.set(parent, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    for (const child of byParent.get(next) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Socket inodes this process holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.add(m[1] as string);
      } catch {
        /* fd closed meanwhile */
      }
    }
  } catch {
    /* process gone */
  }
  return out;
}

/** TCP ports on 127.0.0.1 that this process listens on. */
export function listeningLoopbackPorts(pid: number): number[] {
  const inodes = socketInodes(pid);
  const ports: number[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // local_address rem_address st ... inode: st 0A = LISTEN, 0100007F = 127.0.0.1.
    const [local, , state] = [cols[1], cols[2], cols[3]];
    const inode = cols[9];
    if (!local || state !== "0A" || !inode || !inodes.has(inode)) continue;
    const [addr, portHex] = local.split(":");
    if (addr === "0100007F" && portHex) ports.push(Number.parseInt(portHex, 16));
  }
  return ports.sort((a, b) => a - b);
}
