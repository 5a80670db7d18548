/**
 * Full curvature analysis of a saved checkpoint (`edgewise curvature RUN_DIR`): top-k
 * eigenpairs with exact residuals, the smallest eigenvalue, the Hutchinson trace, the SLQ
 * spectral density, and loss slices along the top eigenvectors (1D) and on their plane (2D);
 * with `ggn`, also the Gauss–Newton matrix's top-k eigenpairs and trace.
 */
import { ggnOperator, hessianOperator } from '../curvature/hessian.ts';
import { lanczos } from '../curvature/lanczos.ts';
import { hutchinson } from '../curvature/trace.ts';
import { slq, spectralDensity } from '../curvature/density.ts';
import { curvatureSnapshotPath } from './runStore.ts';
import { openCheckpoint, type OpenCheckpoint } from './runModel.ts';
import { writeJsonAtomic } from './atomicWrite.ts';

export interface AnalysisOptions {
  step?: number;
  topK?: number;
  iterations?: number;
  traceProbes?: number;
  densityRuns?: number;
  sliceSteps?: number;
  /** Also the top-k eigenpairs and the trace of the Gauss–Newton matrix G. */
  ggn?: boolean;
  log?: (text: string) => void;
}

export interface Analysis {
  step: number;
  eigs: number[];
  residuals: number[];
  converged: boolean[];
  lambda_min: number;
  trace: number;
  trace_stderr: number;
  bn_mode: string;
  hvps: number;
  /** With `ggn`: G's top-k eigenvalues (descending), their exact residuals, and tr(G) (Hutchinson). */
  ggn_eigs?: number[];
  ggn_residuals?: number[];
  ggn_trace?: number;
  ggn_trace_stderr?: number;
  files: string[];
}

/** Analyses the checkpoint at `step` (default: the latest) and writes results under RUN_DIR/curvature. */
export async function analyseCheckpoint(dir: string, o: AnalysisOptions = {}): Promise<Analysis> {
  const ck = await openCheckpoint(dir, o.step);
  try {
    return await analyse(dir, ck, o);
  } finally {
    await ck.dispose();
  }
}

async function analyse(dir: string, ck: OpenCheckpoint, o: AnalysisOptions): Promise<Analysis> {
  const log = o.log ?? (() => {});
  const { config: c, step, theta } = ck;
  const mode = ck.buffers !== null ? c.curvature.bn_mode : 'train';
  const obj = ck.objective({ mode, samples: c.curvature.samples === 'all' ? undefined : c.curvature.samples });
  const H = await hessianOperator(obj, theta);
  const k = o.topK ?? 5;
  const iters = Math.max(o.iterations ?? 40, k + 5);
  log(`top-${k} eigenpairs (${iters} Lanczos steps)…`);
  const top = await lanczos(H, { k, iterations: iters, seed: 1, tol: 1e-3, earlyStop: false, exactResiduals: true });
  log('smallest eigenvalue…');
  const low = await lanczos(H, {
    k: 1,
    iterations: iters,
    seed: 2,
    tol: 1e-3,
    which: 'smallest',
    earlyStop: false,
    exactResiduals: false,
  });
  log('trace (Hutchinson)…');
  const tr = await hutchinson(H, { samples: o.traceProbes ?? 30, seed: 3 });
  log('spectral density (SLQ)…');
  const q = await slq(H, { runs: o.densityRuns ?? 4, steps: Math.min(iters, 40), seed: 4 });
  const d = spectralDensity(q);
  // Loss slices: L(θ + t·v) along the top eigenvectors, and on their plane.
  log('loss slices…');
  const base = (await obj.evaluate(theta)).loss;
  const T = 3 / Math.sqrt(Math.max(top.eigenvalues[0]!, 1e-8));
  const m = o.sliceSteps ?? 41;
  const ts = Array.from({ length: m }, (_, i) => -T + (2 * T * i) / (m - 1));
  const at = async (a: number, u: Float64Array, b = 0, w: Float64Array | null = null): Promise<number> => {
    const th = theta.slice();
    for (let i = 0; i < th.length; i++) th[i] += a * u[i]! + (w ? b * w[i]! : 0);
    const l = (await obj.evaluate(th)).loss;
    return Number.isFinite(l) ? l : Number.NaN;
  };
  const directions = [];
  for (let j = 0; j < Math.min(2, top.eigenvectors.length); j++) {
    const u = top.eigenvectors[j]!;
    const lossT: number[] = [];
    for (const t of ts) lossT.push(await at(t, u));
    directions.push({
      name: `eigenvector ${j + 1}`,
      eigenvalue: top.eigenvalues[j]!,
      loss: lossT,
      quadratic: ts.map((t) => base + 0.5 * top.eigenvalues[j]! * t * t),
    });
  }
  let plane: { a: number[]; b: number[]; loss: number[][] } | undefined;
  if (top.eigenvectors.length >= 2) {
    const g = 15;
    const grid = Array.from({ length: g }, (_, i) => -T + (2 * T * i) / (g - 1));
    const L: number[][] = [];
    for (const a of grid) {
      const rowL: number[] = [];
      for (const b of grid) rowL.push(await at(a, top.eigenvectors[0]!, b, top.eigenvectors[1]!));
      L.push(rowL);
    }
    plane = { a: grid, b: grid, loss: L };
  }
  let ggn: Pick<Analysis, 'ggn_eigs' | 'ggn_residuals' | 'ggn_trace' | 'ggn_trace_stderr'> = {};
  if (o.ggn) {
    const G = await ggnOperator(obj, theta);
    log(`Gauss–Newton: top-${k} eigenpairs and trace…`);
    const gt = await lanczos(G, { k, iterations: iters, seed: 1, tol: 1e-3, earlyStop: false, exactResiduals: true });
    const gtr = await hutchinson(G, { samples: o.traceProbes ?? 30, seed: 3 });
    ggn = {
      ggn_eigs: gt.eigenvalues.slice(),
      ggn_residuals: gt.residuals.slice(),
      ggn_trace: gtr.estimate,
      ggn_trace_stderr: gtr.stdError,
    };
  }
  const files = ['analysis', 'density', 'slices'].map((prefix) => curvatureSnapshotPath(dir, prefix, step));
  const result: Analysis = {
    step,
    eigs: top.eigenvalues.slice(),
    residuals: top.residuals.slice(),
    converged: top.converged.slice(),
    lambda_min: low.eigenvalues[0]!,
    trace: tr.estimate,
    trace_stderr: tr.stdError,
    bn_mode: mode,
    hvps: H.calls,
    ...ggn,
    files,
  };
  writeJsonAtomic(files[0]!, result);
  writeJsonAtomic(files[1]!, { step, x: Array.from(d.x), density: Array.from(d.density), sigma: d.sigma });
  writeJsonAtomic(files[2]!, { step, base_loss: base, t: ts, directions, ...(plane ? { plane } : {}) });
  return result;
}
