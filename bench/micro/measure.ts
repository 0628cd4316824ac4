/** CPU and wall time per call of one function, after a warm-up, in this Node process. */

export interface MicroResult {
  name: string;
  iterations: number;
  /** Median over batches of wall time per call, µs. */
  wallUsPerOp: number;
  /** User + system CPU of the whole run per call, µs. */
  cpuUsPerOp: number;
}

export async function measure(name: string, fn: () => unknown, opts: { iterations: number; batches?: number }): Promise<MicroResult> {
  const batches = opts.batches ?? 10;
  const perBatch = Math.max(1, Math.floor(opts.iterations / batches));
  for (let i = 0; i < Math.min(perBatch, 200); i++) await fn(); // warm-up: JIT, caches
  const walls: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) await fn();
    walls.push(Number(process.hrtime.bigint() - t0) / 1000 / perBatch);
  }
  const cpu = process.cpuUsage(cpu0);
  walls.sort((a, b) => a - b);
  const n = perBatch * batches;
  return { name, iterations: n, wallUsPerOp: walls[Math.floor(walls.length / 2)] as number, cpuUsPerOp: (cpu.user + cpu.system) / n };
}
