/**
 * `toy-depth`: GD on L(θ) = ½(f(θ) − y)² with f = θ1θ2 (depth 2) or θ1θ2θ3 (depth 3), and a
 * depth-1 control: the linearization f(θ0) + ∇f(θ0)·(θ − θ0) of the depth-2 model at its
 * initialization, whose Hessian ∇f∇fᵀ is constant (fixed eigenvectors, the same λ0 up to the
 * residual term). Gradients and Hessians are closed forms in float64 (tested against central
 * finite differences); every step's full eigendecomposition gives λ1, its eigenvector and
 * ρ_t = |cos| between successive top eigenvectors. Learning rates are multiples of 2/λ0.
 * Each run is written as a run directory (config.json, metrics.jsonl with θ per row,
 * summary.json) so `edgewise report` reads it; `contours.json` holds the loss on a grid of the
 * two-parameter models with the trajectories, drawn over the contours in the report.
 * Claims:
 *   1. depth 1 has fixed eigenvectors: min ρ ≥ fixed_rho_min in every depth-1 run;
 *   2. depth 1 above 2/λ0 cannot settle: it diverges (the curvature cannot adapt);
 *   3. depth ≥ 2 below 2/λ0: converges (final loss ≤ converge_loss), its top eigenvector turning
 *      less than above: the largest cumulative rotation below is at most 1/rotation_gap of the
 *      smallest above (did not hold: not converged, or as large; in between: inconclusive) — at
 *      depth ≥ 2 the eigenvector depends on θ, so any path turns it somewhat;
 *   4. depth ≥ 2 above 2/λ0: the top eigenvector rotates (cumulative angle ≥ rotation_min_deg),
 *      at least unstable_rotation_share of it during unstable steps (λ1 ≥ 2/η before the update);
 *      the evidence gives the rotation per unit distance in unstable and stable steps;
 *   5. depth ≥ 2 above 2/λ0: settles instead of diverging like depth 1 (final loss ≤
 *      converge_loss and λ1 < 2/η; did not hold: diverged, or ended at λ1 ≥ 2/η; inconclusive:
 *      still moving). λ1 < 2/η < λ0 at the end is what settling at this η requires.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../experiments/config.ts';
import { RunStore, writeSweepManifest } from '../experiments/runStore.ts';
import { writeJsonAtomic } from '../experiments/atomicWrite.ts';
import type { MetricRow } from '../experiments/metrics.ts';
import { gridProduct, runNames } from '../experiments/sweep.ts';
import { symmetricEigen } from '../curvature/denseEigen.ts';
import { frame, PALETTE } from '../report/spec.ts';
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { TOY_DEPTH_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { fmt, seriesOf, tols } from './measures.ts';
import { studySweep } from './run.ts';
import { perRunFigure, present } from './figures.ts';

/** A toy model: depth ≥ 2 = product of the parameters; depth 1 = the linear model a·θ + b. */
export type ToyModel = { depth: number; y: number; a?: number[]; b?: number };

/** The depth-1 control: the linearization of the depth-2 model at θ0. */
export function linearization(theta0: readonly number[], y: number): ToyModel {
  const [t1, t2] = theta0 as [number, number];
  const a = [t2, t1];
  return { depth: 1, y, a, b: t1 * t2 - (a[0]! * t1 + a[1]! * t2) };
}

function prodExcept(t: readonly number[], i: number, j = -1): number {
  let p = 1;
  for (let k = 0; k < t.length; k++) if (k !== i && k !== j) p *= t[k]!;
  return p;
}

/** f(θ). */
export function toyOutput(m: ToyModel, t: readonly number[]): number {
  if (m.depth === 1) return m.a!.reduce((s, a, i) => s + a * t[i]!, m.b ?? 0);
  return prodExcept(t, -1);
}

/** L(θ) = ½(f(θ) − y)². */
export function toyLoss(m: ToyModel, t: readonly number[]): number {
  const r = toyOutput(m, t) - m.y;
  return 0.5 * r * r;
}

/** ∇L(θ) = r·∇f. */
export function toyGrad(m: ToyModel, t: readonly number[]): number[] {
  const r = toyOutput(m, t) - m.y;
  return t.map((_, i) => r * (m.depth === 1 ? m.a![i]! : prodExcept(t, i)));
}

/** ∇²L(θ) = ∇f∇fᵀ + r∇²f, row-major d×d. */
export function toyHessian(m: ToyModel, t: readonly number[]): Float64Array {
  const d = t.length;
  const H = new Float64Array(d * d);
  const r = toyOutput(m, t) - m.y;
  const g = t.map((_, i) => (m.depth === 1 ? m.a![i]! : prodExcept(t, i)));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const second = m.depth === 1 || i === j ? 0 : prodExcept(t, i, j);
      H[i * d + j] = g[i]! * g[j]! + r * second;
    }
  }
  return H;
}

/** Eigenvalues (descending) and the top eigenvector of the Hessian at θ. */
export function toyEigen(m: ToyModel, t: readonly number[]): { values: number[]; top: number[] } {
  const e = symmetricEigen(toyHessian(m, t), t.length);
  return { values: Array.from(e.values), top: Array.from(e.vectors[0]!) };
}

export interface ToyTrajectory {
  rows: MetricRow[];
  status: 'completed' | 'diverged';
  reason: string | null;
  steps: number;
  lambda0: number;
}

/** GD θ ← θ − η∇L for `steps` updates (stops as diverged when the loss exceeds `divergence` or is not finite). */
export function toyGd(
  m: ToyModel,
  theta0: readonly number[],
  lr: number,
  steps: number,
  divergence: number,
): ToyTrajectory {
  let t = theta0.slice();
  let prev: number[] | null = null;
  const rows: MetricRow[] = [];
  let lambda0 = Number.NaN;
  for (let s = 0; ; s++) {
    const loss = toyLoss(m, t);
    const g = toyGrad(m, t);
    const bad = !Number.isFinite(loss) || loss > divergence || t.some((x) => !Number.isFinite(x));
    const row: Record<string, unknown> = {
      step: s,
      lr,
      train_loss: Number.isFinite(loss) ? loss : null,
      grad_norm: Math.hypot(...g),
      param_norm: Math.hypot(...t),
      theta: t.slice(),
    };
    if (!bad) {
      const e = toyEigen(m, t);
      if (s === 0) lambda0 = e.values[0]!;
      row.sharpness = e.values[0];
      row.eigs = e.values;
      row.lambda_min = e.values[e.values.length - 1];
      if (prev !== null) row.eigvec_cos = Math.min(1, Math.abs(e.top.reduce((a, x, i) => a + x * prev![i]!, 0)));
      prev = e.top;
    }
    row.threshold = 2 / lr;
    row.threshold_quantity = 'sharpness';
    rows.push(row as MetricRow);
    if (bad)
      return {
        rows,
        status: 'diverged',
        reason: `train loss ${Number.isFinite(loss) ? loss.toPrecision(4) : 'non-finite'} above ${divergence} at step ${s}`,
        steps: s,
        lambda0,
      };
    if (s >= steps) return { rows, status: 'completed', reason: null, steps: s, lambda0 };
    t = t.map((x, i) => x - lr * g[i]!);
  }
}

/** The toy settings of the study file's base. */
interface ToyBase {
  y: number;
  steps: number;
  divergence_loss: number;
  /** θ0 per depth ("1" uses the depth-2 init: it is that model's linearization). */
  init: Record<string, number[]>;
  grid_points?: number;
}

function toyBase(ctx: StudyContext): { base: ToyBase; params: Record<string, unknown>[]; keys: string[] } {
  const sweep = studySweep(ctx.file, ctx.quick);
  const base = sweep.base.toy as ToyBase | undefined;
  if (!base || typeof base.y !== 'number' || typeof base.steps !== 'number' || !base.init)
    throw new Error(`studies/${ctx.file.name}.yaml: base.toy must have y, steps, divergence_loss and init`);
  const keys = Object.keys(sweep.grid);
  for (const k of keys)
    if (k !== 'depth' && k !== 'lr_multiple')
      throw new Error(`studies/${ctx.file.name}.yaml: grid keys must be depth and lr_multiple (got ${k})`);
  return { base, params: gridProduct(keys.map((key) => ({ key, values: sweep.grid[key]! }))), keys };
}

function modelFor(depth: number, base: ToyBase): { model: ToyModel; theta0: number[] } {
  if (depth === 1) {
    const t0 = base.init['1'] ?? base.init['2'];
    if (!t0 || t0.length !== 2) throw new Error('toy-depth: init for depth 1 (or 2) must have 2 values');
    return { model: linearization(t0, base.y), theta0: t0 };
  }
  const t0 = base.init[String(depth)];
  if (!t0 || t0.length !== depth) throw new Error(`toy-depth: init for depth ${depth} must have ${depth} values`);
  return { model: { depth, y: base.y }, theta0: t0 };
}

/** Runs every (depth, lr multiple) of the study in-process and writes the run directories and contours.json. */
export async function executeToy(ctx: StudyContext): Promise<StudyRun[]> {
  const { base, params, keys } = toyBase(ctx);
  const names = runNames(keys, params);
  const runs: StudyRun[] = [];
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const depth = Number(p.depth);
    const mult = Number(p.lr_multiple);
    const { model, theta0 } = modelFor(depth, base);
    const lambda0 = toyEigen(model, theta0).values[0]!;
    const lr = (mult * 2) / lambda0;
    const traj = toyGd(model, theta0, lr, base.steps, base.divergence_loss);
    const dir = join(ctx.out, names[i]!);
    mkdirSync(dir, { recursive: true });
    const store = new RunStore(dir);
    // Recomputed from scratch: a summary left by an earlier evaluation must not lend it its start time.
    rmSync(store.summaryPath, { force: true });
    // config.json describes the toy problem (it is not a network config).
    writeJsonAtomic(store.configPath, {
      toy: { depth, y: base.y, theta0, model, lr_multiple: mult, lambda0 },
      loss: 'mse',
      optimizer: { name: 'gd', lr },
      train: { steps: base.steps },
      seed: 0,
      created_at: new Date().toISOString(),
    });
    writeFileSync(store.metricsPath, traj.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const last = traj.rows[traj.rows.length - 1]!;
    const lastSharp = [...traj.rows].reverse().find((r) => typeof r.sharpness === 'number')?.sharpness as
      number | undefined;
    const summary = store.finish(traj.status, traj.reason, traj.steps, {
      train_loss: (last.train_loss as number | null) ?? null,
      train_acc: null,
      test_loss: null,
      test_acc: null,
      sharpness: lastSharp ?? null,
    });
    // The in-memory config only carries what the evaluators read (optimizer, train.steps, loss).
    const config = resolveConfig({ optimizer: { name: 'gd', lr }, train: { steps: base.steps } });
    runs.push({ name: names[i]!, params: { ...p, lambda0 }, dir, config, summary, rows: traj.rows });
    ctx.log(
      `[${i + 1}/${params.length}] ${names[i]}: ${traj.status} (λ0 = ${lambda0.toPrecision(4)}, η = ${lr.toPrecision(4)})`,
    );
  }
  writeSweepManifest(ctx.out, {
    name: ctx.file.name,
    grid: Object.fromEntries(keys.map((k) => [k, [...new Set(params.map((p) => p[k]))]])),
    runs: runs.map((r, index) => ({ index, name: r.name, params: r.params })),
  });
  writeJsonAtomic(join(ctx.out, 'contours.json'), contourData(runs, base));
  return runs;
}

// ---- contours

/** Segments of the level set {L = level} on a grid (marching squares), in data coordinates. */
export function contourSegments(
  xs: readonly number[],
  ys: readonly number[],
  z: readonly (readonly number[])[],
  level: number,
): [number, number, number, number][] {
  const segs: [number, number, number, number][] = [];
  const interp = (x0: number, y0: number, z0: number, x1: number, y1: number, z1: number): [number, number] => {
    const t = (level - z0) / (z1 - z0);
    return [x0 + t * (x1 - x0), y0 + t * (y1 - y0)];
  };
  for (let i = 0; i + 1 < xs.length; i++) {
    for (let j = 0; j + 1 < ys.length; j++) {
      // Corners (counter-clockwise): a=(i,j) b=(i+1,j) c=(i+1,j+1) d=(i,j+1); z[i][j] at (xs[i], ys[j]).
      const pts: [number, number, number][] = [
        [xs[i]!, ys[j]!, z[i]![j]!],
        [xs[i + 1]!, ys[j]!, z[i + 1]![j]!],
        [xs[i + 1]!, ys[j + 1]!, z[i + 1]![j + 1]!],
        [xs[i]!, ys[j + 1]!, z[i]![j + 1]!],
      ];
      const cross: [number, number][] = [];
      for (let k = 0; k < 4; k++) {
        const [x0, y0, z0] = pts[k]!;
        const [x1, y1, z1] = pts[(k + 1) % 4]!;
        if (z0 < level !== z1 < level) cross.push(interp(x0, y0, z0, x1, y1, z1));
      }
      if (cross.length === 2) segs.push([cross[0]![0], cross[0]![1], cross[1]![0], cross[1]![1]]);
      else if (cross.length === 4) {
        segs.push([cross[0]![0], cross[0]![1], cross[1]![0], cross[1]![1]]);
        segs.push([cross[2]![0], cross[2]![1], cross[3]![0], cross[3]![1]]);
      }
    }
  }
  return segs;
}

interface ContourPanel {
  depth: number;
  x: number[];
  y: number[];
  /** loss[i][j] at (x[i], y[j]). */
  loss: number[][];
  levels: number[];
  trajectories: { name: string; lr_multiple: number; status: string; theta: number[][] }[];
}

function contourData(runs: StudyRun[], base: ToyBase): { panels: ContourPanel[] } {
  const panels: ContourPanel[] = [];
  for (const depth of [1, 2]) {
    const rs = runs.filter((r) => Number(r.params.depth) === depth);
    if (rs.length === 0) continue;
    const { model } = modelFor(depth, base);
    const trajectories = rs.map((r) => ({
      name: r.name,
      lr_multiple: Number(r.params.lr_multiple),
      status: r.summary.status,
      theta: r.rows
        .map((row) => row.theta as number[])
        .filter((t) => Array.isArray(t) && t.every((v) => Number.isFinite(v))),
    }));
    // The box: the converged trajectories and the initialization (diverging ones leave it), with a margin.
    const inBox = trajectories.flatMap((t) => (t.status === 'completed' ? t.theta : t.theta.slice(0, 3)));
    const xsAll = inBox.map((t) => t[0]!);
    const ysAll = inBox.map((t) => t[1]!);
    const pad = (lo: number, hi: number): [number, number] => {
      const m = Math.max(0.25, 0.15 * (hi - lo));
      return [lo - m, hi + m];
    };
    const [x0, x1] = pad(Math.min(...xsAll), Math.max(...xsAll));
    const [y0, y1] = pad(Math.min(...ysAll), Math.max(...ysAll));
    const n = base.grid_points ?? 81;
    const x = Array.from({ length: n }, (_, i) => x0 + ((x1 - x0) * i) / (n - 1));
    const y = Array.from({ length: n }, (_, j) => y0 + ((y1 - y0) * j) / (n - 1));
    const loss = x.map((a) => y.map((b) => toyLoss(model, [a, b])));
    const maxL = Math.max(...loss.flat());
    const levels: number[] = [];
    for (let l = 1e-3; l < maxL; l *= 3) levels.push(l);
    panels.push({ depth, x, y, loss, levels, trajectories });
  }
  return { panels };
}

function contourFigure(p: ContourPanel): StudyFigure {
  const segs = p.levels.flatMap((l) =>
    contourSegments(p.x, p.y, p.loss, l).map(([a, b, c, d]) => ({ x: a, y: b, x2: c, y2: d, level: l })),
  );
  const layers: Record<string, unknown>[] = [
    {
      data: { values: segs },
      mark: { type: 'rule', color: '#9a9a9a', strokeWidth: 0.8, clip: true },
      encoding: {
        x: {
          field: 'x',
          type: 'quantitative',
          title: 'θ1',
          scale: { domain: [p.x[0], p.x[p.x.length - 1]], nice: false, zero: false },
        },
        y: {
          field: 'y',
          type: 'quantitative',
          title: 'θ2',
          scale: { domain: [p.y[0], p.y[p.y.length - 1]], nice: false, zero: false },
        },
        x2: { field: 'x2' },
        y2: { field: 'y2' },
      },
    },
  ];
  layers.push({
    data: { values: [{ x: p.trajectories[0]?.theta[0]?.[0], y: p.trajectories[0]?.theta[0]?.[1] }] },
    mark: { type: 'point', shape: 'cross', color: 'black', size: 60, filled: true, opacity: 0.6 },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  });
  const labels = p.trajectories.map(
    (t) => `η = ${fmt(t.lr_multiple)}·2/λ0${t.status === 'diverged' ? ' (diverged)' : ''}`,
  );
  p.trajectories.forEach((t, k) => {
    layers.push({
      data: { values: t.theta.map((th, i) => ({ x: th[0], y: th[1], i })) },
      mark: { type: 'line', point: { filled: true, size: 14 }, strokeWidth: 1.2, clip: true },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        order: { field: 'i', type: 'quantitative' },
        color: {
          datum: labels[k],
          scale: { domain: labels, range: labels.map((_, j) => PALETTE[j % PALETTE.length]) },
          legend: { title: null },
        },
      },
    });
  });
  const what =
    p.depth === 1
      ? 'depth 1 (the linearization at θ0): straight contours, fixed curvature'
      : 'depth 2: L = ½(θ1θ2 − y)², minima on the hyperbola θ1θ2 = y, flatter towards θ1 = θ2';
  const spec = {
    ...frame(`GD trajectories over the loss contours, depth ${p.depth}`, what, { height: 440 }),
    layer: layers,
  };
  return {
    id: `contours-depth-${p.depth}`,
    title: `Trajectories over the loss contours (depth ${p.depth})`,
    caption: 'Grey: contours of the loss (levels ×3 apart); +: the initialization; one trajectory per learning rate.',
    spec,
  };
}

// ---- evaluation

function info(r: StudyRun) {
  const rho = seriesOf(r.rows, 'eigvec_cos');
  const sharp = seriesOf(r.rows, 'sharpness');
  const thr = 2 / r.config.optimizer.lr;
  // Rotation at step t is attributed to the update from θ_{t−1}; unstable if λ1(θ_{t−1}) ≥ 2/η.
  const byStep = new Map(sharp.map((p) => [p.step, p.value]));
  // θ per row (the toy runs write it) gives the distance each update travelled.
  const theta = new Map(r.rows.map((row) => [row.step, Array.isArray(row.theta) ? (row.theta as number[]) : null]));
  const dist = (s: number) => {
    const a = theta.get(s - 1);
    const b = theta.get(s);
    return a && b ? Math.hypot(...b.map((x, i) => x - a[i]!)) : Number.NaN;
  };
  let total = 0;
  let unstable = 0;
  let unstableDist = 0;
  let stableDist = 0;
  for (const p of rho) {
    const a = (Math.acos(Math.min(1, p.value)) * 180) / Math.PI;
    total += a;
    if ((byStep.get(p.step - 1) ?? -Infinity) >= thr) {
      unstable += a;
      unstableDist += dist(p.step);
    } else stableDist += dist(p.step);
  }
  const last = r.rows[r.rows.length - 1];
  return {
    depth: Number(r.params.depth),
    mult: Number(r.params.lr_multiple),
    lambda0: Number(r.params.lambda0),
    thr,
    minRho: rho.length > 0 ? Math.min(...rho.map((p) => p.value)) : Number.NaN,
    totalDeg: total,
    unstableShare: total > 0 ? unstable / total : Number.NaN,
    /** Degrees of rotation per unit of ‖Δθ‖ in unstable and in stable updates. */
    unstableRate: unstable / unstableDist,
    stableRate: (total - unstable) / stableDist,
    finalLoss: typeof last?.train_loss === 'number' ? last.train_loss : Number.NaN,
    finalSharp: sharp.length > 0 ? sharp[sharp.length - 1]!.value : Number.NaN,
    status: r.summary.status,
    label: `depth ${r.params.depth}, η = ${fmt(Number(r.params.lr_multiple))}·2/λ0`,
  };
}

export function evaluateToy(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(TOY_DEPTH_TOLERANCES, ctx.tolerances);
  const [fixedMin, gap, convLoss, rotMin, shareMin] = tols(
    t,
    'fixed_rho_min',
    'rotation_gap',
    'converge_loss',
    'rotation_min_deg',
    'unstable_rotation_share',
  );
  const xs = runs.map(info);
  const out: ClaimResult[] = [];
  const d1 = xs.filter((x) => x.depth === 1);
  {
    const claim = 'Depth 1 (constant Hessian) has fixed eigenvectors: ρ_t = 1 throughout';
    const rs = d1.filter((x) => Number.isFinite(x.minRho));
    if (rs.length === 0)
      out.push({ claim, evidence: 'no depth-1 run with two or more measurements', verdict: 'inconclusive' });
    else {
      const min = Math.min(...rs.map((x) => x.minRho));
      out.push({
        claim,
        evidence: `${rs.map((x) => `${x.label}: 1 − min ρ = ${fmt(1 - x.minRho)}`).join('; ')} (need min ρ ≥ ${fixedMin})`,
        verdict: min >= fixedMin ? 'held' : 'did not hold',
        values: { min_rho: min },
      });
    }
  }
  {
    const claim = 'Depth 1 above 2/λ0 cannot settle (its curvature cannot adapt): GD diverges';
    const rs = d1.filter((x) => x.mult > 1);
    if (rs.length === 0) out.push({ claim, evidence: 'no depth-1 run above 2/λ0', verdict: 'inconclusive' });
    else {
      out.push({
        claim,
        evidence: rs
          .map((x) => `${x.label}: ${x.status}${x.status === 'completed' ? `, final loss ${fmt(x.finalLoss)}` : ''}`)
          .join('; '),
        verdict: rs.every((x) => x.status === 'diverged') ? 'held' : 'did not hold',
      });
    }
  }
  const deep = xs.filter((x) => x.depth >= 2);
  for (const depth of [...new Set(deep.map((x) => x.depth))].sort()) {
    const below = deep.filter((x) => x.depth === depth && x.mult < 1);
    const above = deep.filter((x) => x.depth === depth && x.mult > 1);
    {
      const claim = `Depth ${depth} below 2/λ0: converges, its top eigenvector turning less than above 2/λ0`;
      if (below.length === 0 || above.length === 0)
        out.push({ claim, evidence: 'needs runs below and above 2/λ0', verdict: 'inconclusive' });
      else {
        const converged = below.every((x) => x.status === 'completed' && x.finalLoss <= convLoss);
        const belowMax = Math.max(...below.map((x) => x.totalDeg));
        const aboveMin = Math.min(...above.map((x) => x.totalDeg));
        const verdict =
          !converged || aboveMin <= belowMax ? 'did not hold' : aboveMin >= gap * belowMax ? 'held' : 'inconclusive';
        out.push({
          claim,
          evidence:
            below
              .map(
                (x) =>
                  `${x.label}: final loss ${fmt(x.finalLoss)}, cumulative rotation ${fmt(x.totalDeg)}° (min ρ ${fmt(x.minRho, 4)}, ${fmt(x.stableRate)}°/unit distance), final λ1 ${fmt(x.finalSharp)} (λ0 ${fmt(x.lambda0)})`,
              )
              .join('; ') +
            `; the smallest rotation above 2/λ0: ${fmt(aboveMin)}° (${fmt(aboveMin / belowMax)}× the largest below; held: loss ≤ ${convLoss} and ≥ ${gap}×; did not hold: not converged or ≤ 1×)`,
          verdict,
          values: { below_max_deg: belowMax, above_min_deg: aboveMin, ratio: aboveMin / belowMax },
        });
      }
    }
    {
      const claim = `Depth ${depth} above 2/λ0: the top eigenvector rotates during the unstable growth`;
      if (above.length === 0) out.push({ claim, evidence: 'no run above 2/λ0', verdict: 'inconclusive' });
      else {
        const ok = above.every((x) => x.totalDeg >= rotMin && x.unstableShare >= shareMin);
        out.push({
          claim,
          evidence:
            above
              .map(
                (x) =>
                  `${x.label}: cumulative rotation ${fmt(x.totalDeg)}° (min ρ ${fmt(x.minRho)}), ${fmt(100 * x.unstableShare)} % of it in steps with λ1 ≥ 2/η; per unit distance travelled ${fmt(x.unstableRate)}°/unit in unstable steps, ${fmt(x.stableRate)}°/unit in stable ones`,
              )
              .join('; ') + ` (need ≥ ${rotMin}° and ≥ ${fmt(100 * shareMin)} %)`,
          verdict: ok ? 'held' : 'did not hold',
          values: Object.fromEntries(
            above.flatMap((x) => [
              [`rotation_deg_m${x.mult}`, x.totalDeg],
              [`unstable_share_m${x.mult}`, x.unstableShare],
            ]),
          ),
        });
      }
    }
    {
      const claim = `Depth ${depth} above 2/λ0: GD settles instead of diverging (unlike depth 1), at λ1 < 2/η < λ0`;
      if (above.length === 0) out.push({ claim, evidence: 'no run above 2/λ0', verdict: 'inconclusive' });
      else {
        const settled = (x: (typeof above)[number]) =>
          x.status === 'completed' && x.finalLoss <= convLoss && x.finalSharp < x.thr;
        const failed = (x: (typeof above)[number]) => x.status !== 'completed' || x.finalSharp >= x.thr;
        const ref = below.filter((x) => x.status === 'completed').map((x) => x.finalSharp);
        out.push({
          claim,
          evidence:
            above
              .map(
                (x) =>
                  `${x.label}: ${x.status}, final loss ${fmt(x.finalLoss)}, final λ1 ${fmt(x.finalSharp)} vs 2/η ${fmt(x.thr)} and λ0 ${fmt(x.lambda0)}`,
              )
              .join('; ') +
            (ref.length > 0 ? `; below 2/λ0 the final λ1 was ${ref.map((v) => fmt(v)).join(', ')}` : '') +
            ` (held: loss ≤ ${convLoss} with λ1 < 2/η; did not hold: diverged or λ1 ≥ 2/η at the end; else still moving)`,
          verdict: above.every(settled) ? 'held' : above.some(failed) ? 'did not hold' : 'inconclusive',
          values: Object.fromEntries(above.map((x) => [`final_sharpness_m${x.mult}`, x.finalSharp])),
        });
      }
    }
  }
  return out;
}

export async function toyFigures(runs: StudyRun[], ctx: StudyContext): Promise<StudyFigure[]> {
  const { readFileSync, existsSync } = await import('node:fs');
  const file = join(ctx.out, 'contours.json');
  const panels = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { panels: ContourPanel[] }).panels : [];
  const label = (r: StudyRun) => `depth ${String(r.params.depth)}, η = ${fmt(Number(r.params.lr_multiple))}·2/λ0`;
  const stable = runs.filter((r) => r.summary.status === 'completed');
  return [
    ...panels.map(contourFigure),
    ...present([
      perRunFigure(runs, {
        id: 'rho',
        title: 'ρ_t: |cos| between successive top eigenvectors',
        caption: 'Depth 1 stays at 1; depth ≥ 2 above 2/λ0 rotates while it is unstable.',
        key: 'eigvec_cos',
        yTitle: 'ρ_t',
        label,
        yDomain: [0, 1],
      }),
      perRunFigure(stable, {
        id: 'ratio',
        title: 'λ1 / (2/η)',
        caption: 'Sharpness over the threshold (runs that did not diverge); dashed: 1.',
        key: 'sharpness',
        yTitle: 'λ1/(2/η)',
        label,
        ruleY: 1,
        ratioTo: 'threshold',
        logY: true,
      }),
      perRunFigure(runs, {
        id: 'loss',
        title: 'Loss',
        caption: 'Loss of every run (log scale).',
        key: 'train_loss',
        yTitle: 'loss (log)',
        label,
        logY: true,
      }),
    ]),
  ];
}

export const toyDepth: StudyDefinition = {
  name: 'toy-depth',
  deterministic: true,
  execute: executeToy,
  evaluate: evaluateToy,
  figures: toyFigures,
};
