/** `edgewise curvature RUN_DIR [--step N]`. */
import { analyseCheckpoint } from '../experiments/analysis.ts';
import { UsageError, mustExist } from './util.ts';

export async function commandCurvature(
  dir: string,
  o: { step?: string; topK: string; iters: string; ggn?: boolean },
): Promise<void> {
  const step = o.step === undefined ? undefined : Number(o.step);
  if (step !== undefined && !(Number.isInteger(step) && step >= 0))
    throw new UsageError(`--step must be a non-negative integer (got ${o.step})`);
  const k = Number(o.topK);
  const iters = Number(o.iters);
  if (!(Number.isInteger(k) && k >= 1)) throw new UsageError(`--top-k must be an integer ≥ 1 (got ${o.topK})`);
  if (!(Number.isInteger(iters) && iters >= 2)) throw new UsageError(`--iters must be an integer ≥ 2 (got ${o.iters})`);
  const a = await analyseCheckpoint(mustExist(dir, 'run directory'), {
    step,
    topK: k,
    iterations: iters,
    ggn: o.ggn === true,
    log: (t) => process.stderr.write(`${t}\n`),
  });
  process.stdout.write(
    `step ${a.step}: eigenvalues ${a.eigs.map((e) => e.toPrecision(5)).join(', ')}; λmin ${a.lambda_min.toPrecision(4)}; trace ${a.trace.toPrecision(4)} ± ${a.trace_stderr.toPrecision(2)}\n`,
  );
  if (a.ggn_eigs && a.ggn_trace !== undefined) {
    process.stdout.write(
      `Gauss–Newton: eigenvalues ${a.ggn_eigs.map((e) => e.toPrecision(5)).join(', ')}; trace ${a.ggn_trace.toPrecision(4)} ± ${a.ggn_trace_stderr!.toPrecision(2)}\n`,
    );
  }
  for (const f of a.files) process.stdout.write(`wrote ${f}\n`);
}
