/** Wall-clock timing of async work: warm-up runs, then the median (and min/max) of timed runs. */

export interface Timing {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
}

/** Times `fn` after `warmup` untimed calls; returns median/min/max over `runs` calls in ms. */
export async function measure(fn: () => Promise<unknown>, runs = 5, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ts.sort((a, b) => a - b);
  const mid = ts.length >> 1;
  const median = ts.length % 2 ? ts[mid]! : (ts[mid - 1]! + ts[mid]!) / 2;
  return { median_ms: median, min_ms: ts[0]!, max_ms: ts[ts.length - 1]!, runs };
}
