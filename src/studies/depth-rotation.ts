/**
 * `depth-rotation`: rotation of the top Hessian eigenvector as a consequence of depth, in real
 * networks (the claim of arXiv 2412.17613, whose two-parameter version is the toy-depth study).
 * A linear model under MSE has a constant Hessian, so full-batch GD above 2/λ0 multiplies the
 * error along the top eigenvector by |1 − ηλ0| > 1 at every step and diverges: nothing can
 * rotate or adapt. With depth ≥ 2 the Hessian depends on θ: an instability moves θ, which rotates
 * the top eigenvectors and lowers λ1, and the run self-stabilizes; the more layers, the more the
 * curvature depends on θ, so the rotation per unit distance travelled should grow with depth.
 *
 * Design. Tanh MLPs of one width with 0–3 hidden layers (depth 1–4; depth 1 is the linear model
 * widths []), the same data, MSE, full-batch GD at 0.5 and 1.5 × 2/λ0 with λ0 measured per seed
 * and per depth (depth 1 is the study file's own sweep, depths 2–4 its variants, which key λ0),
 * six seeds. Lanczos (top 2) every few steps gives ρ = |cos| between successive top
 * eigenvectors and the distance ‖Δθ‖ travelled in between. Rotation is compared per unit
 * displacement, arccos ρ / ‖Δθ‖: deeper models and larger η take longer steps, which turn the
 * eigenvectors more by themselves.
 * Measurements with a relative eigengap (λ1 − λ2)/λ1 below gap_min are left out, as in the
 * rotation study (λ1 and λ2 exchanging is no rotation).
 *
 * What is decidable. The linear model's Hessian is I_K ⊗ XᵀX/n (K outputs): its top eigenvalue
 * has one copy per output, so its top eigenvector is not defined and the measured ρ is whichever
 * vector of the eigenspace Lanczos returns from its (per-step) random start; all its measurements
 * fall under gap_min (λ1 and λ2 agree to about 1e-7 there). Its constancy is therefore judged on
 * the spectrum: λ1 at every measurement within const_tol of λ0, relative (λ2 is not used: with a
 * degenerate top eigenvalue Lanczos may return another copy of λ1 or the next eigenvalue). For
 * the deeper models "the eigenvector moves" is judged against the noise of the measurement:
 * mean 1 − ρ minus rho_noise, positive across seeds. That noise is tiny: float32
 * Hessian-vector products perturb H by about 1e-7·λ1, which turns an eigenvector with relative
 * gap ≥ gap_min by at most about 2e-6 rad (Davis–Kahan), so 1 − ρ ≲ 1e-11 for an eigenvector that
 * did not move; the Lanczos residuals are smaller still. (Below 2/λ0 a two-layer model's top
 * eigenvector turns by 1 − ρ ≈ 1e-6 per 4 steps, so a floor of the order of 1e-4 would call real
 * rotation noise.) Across seeds every test is an exact two-sided sign-flip test (six seeds reach
 * p = 2/64 < 0.05; five cannot).
 *
 * Claims:
 *   1. without depth there is no self-stabilization: at 1.5× every linear run diverged and every
 *      deeper run completed (did not hold: a linear run completed, or some depth diverged in at
 *      least half of its seeds; else inconclusive);
 *   2. below 2/λ0 the linear model's curvature does not move (λ1 within const_tol of λ0 in every
 *      seed, and any non-degenerate ρ within rho_noise of 1), deeper models' top eigenvector
 *      does (per depth, per seed mean 1 − ρ − rho_noise > 0 across seeds, judgePaired); the
 *      verdicts combined (any did not hold wins, then any inconclusive);
 *   3. above 2/λ0 (1.5×) rotation per unit displacement grows with depth over depths 2–4: per seed
 *      Spearman(depth, mean arccos ρ/‖Δθ‖), the mean across seeds ≥ spearman_min at p < 0.05 (did
 *      not hold: p < 0.05 with a negative mean, or a TOST showing |mean| < spearman_min);
 *   4. the same below 2/λ0 (0.5×), reported alongside.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun, Verdict } from './study.ts';
import { DEPTH_ROTATION_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { combineVerdicts, fmt, mean, median, ratioSeries, seriesOf, spearman, tols } from './measures.ts';
import { anglePerDisplacement, rotationSteps, splitDegenerate, type RotationStep } from './claims/rotation.ts';
import { judgePaired } from './stats.ts';
import { medianBandFigure, present } from './figures.ts';
import { multipleOf, runMultiples } from './plan.ts';

/** A run's depth: its hidden layers + 1 (depth 1 = a linear model). */
export const depthOf = (r: StudyRun): number => r.config.model.widths.length + 1;

/** One run's material. */
interface DepthRun {
  r: StudyRun;
  depth: number;
  multiple: number;
  seed: number;
  label: string;
  /** Rotation measurements with a relative eigengap ≥ gap_min, and the others. */
  kept: RotationStep[];
  degenerate: RotationStep[];
}

const depthLabel = (d: number) => `depth ${d}${d === 1 ? ' (linear)' : ''}`;

function depthRuns(runs: readonly StudyRun[], gapMin: number): DepthRun[] {
  return runs.map((r) => {
    const { multiple } = multipleOf(r);
    const depth = depthOf(r);
    const seed = r.config.train.seed;
    return {
      r,
      depth,
      multiple,
      seed,
      label: `${depthLabel(depth)}, η = ${fmt(multiple)}·2/λ0, seed ${seed}`,
      ...splitDegenerate(rotationSteps(r.rows), gapMin),
    };
  });
}

const depthsOf = (xs: readonly DepthRun[]) => [...new Set(xs.map((x) => x.depth))].sort((a, b) => a - b);
const completed = (x: DepthRun) => x.r.summary.status === 'completed';
/** Mean 1 − ρ over the non-degenerate measurements (NaN without any). */
const meanRotation = (x: DepthRun) => mean(x.kept.map((p) => 1 - p.rho));
/** Mean arccos ρ / ‖Δθ‖ over the non-degenerate measurements (NaN without any). */
const meanRate = (x: DepthRun) => mean(anglePerDisplacement(x.kept));

/** Claim 1: the linear model diverges above 2/λ0, deeper models complete. */
function selfStabilization(xs: readonly DepthRun[]): ClaimResult {
  const claim =
    'Without depth there is no self-stabilization: above 2/λ0 the linear model diverges, deeper models train';
  const above = xs.filter((x) => x.multiple > 1);
  const lin = above.filter((x) => x.depth === 1);
  const deep = above.filter((x) => x.depth >= 2);
  if (lin.length === 0 || deep.length === 0)
    return {
      claim,
      evidence: `needs linear and deeper runs above 2/λ0 (have ${lin.length} linear, ${deep.length} deeper)`,
      verdict: 'inconclusive',
    };
  const count = (rs: readonly DepthRun[], s: string) => rs.filter((x) => x.r.summary.status === s).length;
  const linDiverged = count(lin, 'diverged');
  const linCompleted = count(lin, 'completed');
  const perDepth = depthsOf(deep).map((d) => {
    const rs = deep.filter((x) => x.depth === d);
    const done = rs.filter(completed);
    const loss = (x: DepthRun, i: 0 | -1) => seriesOf(x.r.rows, 'train_loss').at(i)?.value ?? Number.NaN;
    return {
      d,
      n: rs.length,
      completed: done.length,
      diverged: count(rs, 'diverged'),
      text:
        `${depthLabel(d)}: completed in ${done.length}/${rs.length} seeds, diverged in ${count(rs, 'diverged')}` +
        (done.length > 0
          ? ` (median train loss ${fmt(median(done.map((x) => loss(x, 0))))} at step 0 → ${fmt(median(done.map((x) => loss(x, -1))))} at the end, median final λ1/(2/η) ${fmt(median(done.map((x) => ratioSeries(x.r.rows).at(-1)?.value ?? Number.NaN)))})`
          : ''),
    };
  });
  const failed = linCompleted > 0 || perDepth.some((p) => 2 * p.diverged >= p.n);
  const held = linDiverged === lin.length && perDepth.every((p) => p.completed === p.n);
  const steps = lin.filter((x) => x.r.summary.status === 'diverged').map((x) => x.r.summary.steps);
  return {
    claim,
    evidence:
      `${depthLabel(1)} at ${[...new Set(lin.map((x) => fmt(x.multiple)))].join(', ')}×2/λ0: diverged in ${linDiverged}/${lin.length} seeds` +
      (steps.length > 0
        ? ` (at step${Math.min(...steps) === Math.max(...steps) ? ` ${Math.min(...steps)}` : `s ${Math.min(...steps)}–${Math.max(...steps)}`})`
        : '') +
      `, completed in ${linCompleted}; ${perDepth.map((p) => p.text).join('; ')} (held: the linear model diverged in every seed and every deeper model completed in every seed; did not hold: the linear model completed in some seed, or a deeper model diverged in at least half of its seeds)`,
    verdict: failed ? 'did not hold' : held ? 'held' : 'inconclusive',
    values: {
      linear_runs: lin.length,
      linear_diverged: linDiverged,
      linear_completed: linCompleted,
      ...Object.fromEntries(perDepth.map((p) => [`completed_depth${p.d}`, p.completed])),
    },
  };
}

/** Largest relative change of the measured λ1 from its first measurement, max |λ1(t) − λ1(0)|/λ1(0); NaN with fewer than 2 measurements. */
export function sharpnessDrift(rows: StudyRun['rows']): number {
  const l1 = seriesOf(rows, 'sharpness').map((p) => p.value);
  if (l1.length < 2 || !(l1[0]! > 0)) return Number.NaN;
  return Math.max(...l1.map((v) => Math.abs(v - l1[0]!) / l1[0]!));
}

/** Claim 2: below 2/λ0 the linear model's curvature stays put, deeper models' top eigenvector moves. */
function belowThreshold(xs: readonly DepthRun[], constTol: number, rhoNoise: number, gapMin: number): ClaimResult {
  const claim =
    "Below 2/λ0 a linear model's curvature (its top eigenspace) does not move; deeper models' top eigenvector does";
  const below = xs.filter((x) => x.multiple < 1);
  const lin = below.filter((x) => x.depth === 1);
  const deepDepths = depthsOf(below.filter((x) => x.depth >= 2));
  if (lin.length === 0 || deepDepths.length === 0)
    return {
      claim,
      evidence: `needs linear and deeper runs below 2/λ0 (have ${lin.length} linear runs, depths ${deepDepths.join(', ') || 'none'} deeper)`,
      verdict: 'inconclusive',
    };
  // The linear model: a constant spectrum (its degenerate top eigenvector is not judged by ρ).
  const linParts = lin.map((x) => {
    const drift = sharpnessDrift(x.r.rows);
    const rot = meanRotation(x);
    const gaps = x.kept.concat(x.degenerate).flatMap((p) => (p.gap === null ? [] : [p.gap]));
    const verdict: Verdict = !Number.isFinite(drift)
      ? 'inconclusive'
      : drift <= constTol && !(rot >= rhoNoise)
        ? 'held'
        : 'did not hold';
    return {
      verdict,
      drift,
      text: `seed ${x.seed}: largest change of λ1 ${fmt(drift)} of λ0, median relative eigengap ${fmt(median(gaps))} (${x.degenerate.length} of ${x.kept.length + x.degenerate.length} measurements under ${gapMin}${x.kept.length > 0 ? `; mean 1 − ρ over the others ${fmt(rot)}` : ''})`,
    };
  });
  const linVerdict = combineVerdicts(linParts.map((p) => p.verdict));
  // Deeper models: mean 1 − ρ beyond the Lanczos noise floor, across seeds.
  const deepParts = deepDepths.map((d) => {
    const rs = below.filter((x) => x.depth === d && completed(x));
    const j = judgePaired(
      rs.map((x) => meanRotation(x) - rhoNoise),
      'positive',
      fmt,
    );
    return {
      d,
      j,
      text: `${depthLabel(d)}: mean 1 − ρ ${rs.map((x) => `seed ${x.seed}: ${fmt(meanRotation(x))}`).join(', ')}; minus ${fmt(rhoNoise)} across seeds ${j.text}; arccos ρ/‖Δθ‖ ${fmt(mean(rs.map(meanRate)))} rad per unit (mean over seeds); ${rs.reduce((s, x) => s + x.degenerate.length, 0)} near-degenerate measurements left out`,
    };
  });
  return {
    claim,
    evidence: `${depthLabel(1)} (held: in every seed λ1 stays within ${fmt(constTol)} of λ0, relative, and any non-degenerate measurement has 1 − ρ < ${fmt(rhoNoise)}): ${linParts.map((p) => p.text).join('; ')} → ${linVerdict}. Deeper (held: mean 1 − ρ − ${fmt(rhoNoise)} positive at sign-flip p < 0.05; did not hold: negative at p < 0.05): ${deepParts.map((p) => `${p.text} → ${p.j.verdict}`).join('; ')}`,
    verdict: combineVerdicts([linVerdict, ...deepParts.map((p) => p.j.verdict)]),
    values: {
      linear_max_drift: Math.max(...linParts.map((p) => (Number.isFinite(p.drift) ? p.drift : -Infinity))),
      ...Object.fromEntries(
        deepParts.flatMap((p) => [
          [`excess_depth${p.d}`, p.j.cmp.mean],
          [`p_depth${p.d}`, p.j.cmp.pValue],
          [`n_depth${p.d}`, p.j.cmp.n],
        ]),
      ),
    },
  };
}

/** Claims 3 and 4: per seed Spearman(depth, rotation per unit displacement) over depths ≥ 2, across seeds. */
function growsWithDepth(xs: readonly DepthRun[], side: 'above' | 'below', spMin: number): ClaimResult {
  const claim =
    side === 'above'
      ? 'Above 2/λ0 rotation per unit parameter displacement (arccos ρ / ‖Δθ‖) grows with depth'
      : 'Below 2/λ0 too, rotation per unit parameter displacement grows with depth';
  const pts = xs
    .filter((x) => x.depth >= 2 && completed(x) && (side === 'above' ? x.multiple > 1 : x.multiple < 1))
    .map((x) => ({ x, v: meanRate(x) }))
    .filter((p) => Number.isFinite(p.v));
  const depths = depthsOf(pts.map((p) => p.x));
  const perDepth = depths
    .map((d) => {
      const mine = pts.filter((p) => p.x.depth === d);
      return `${depthLabel(d)}: ${fmt(mean(mine.map((p) => p.v)))} rad per unit (raw 1 − ρ ${fmt(mean(mine.map((p) => meanRotation(p.x))))}, n = ${mine.length})`;
    })
    .join(', ');
  const perSeed = [...new Set(pts.map((p) => p.x.seed))]
    .sort((a, b) => a - b)
    .map((seed) => {
      const mine = pts.filter((p) => p.x.seed === seed);
      const rs =
        depthsOf(mine.map((p) => p.x)).length >= 3
          ? spearman(
              mine.map((p) => p.x.depth),
              mine.map((p) => p.v),
            )
          : Number.NaN;
      return { seed, rs };
    });
  const j = judgePaired(
    perSeed.map((s) => s.rs),
    'positive',
    fmt,
    { minEffect: spMin, margin: spMin },
  );
  return {
    claim,
    evidence:
      (depths.length < 3 ? `${depths.length} depths ≥ 2 with non-degenerate measurements (need 3); ` : '') +
      `per-seed Spearman(depth, arccos ρ/‖Δθ‖) ${perSeed.map((s) => `seed ${s.seed}: ${fmt(s.rs)}`).join(', ') || 'none'}; mean ${j.text} (held: p < 0.05 and mean ≥ ${spMin}; did not hold: p < 0.05 with a negative mean, or TOST shows |mean| < ${spMin}); mean per depth over seeds: ${perDepth || 'none'}`,
    verdict: j.verdict,
    values: { spearman_seed_mean: j.cmp.mean, lo: j.cmp.lo, hi: j.cmp.hi, p: j.cmp.pValue, seeds: j.cmp.n },
  };
}

export function evaluateDepthRotation(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(DEPTH_ROTATION_TOLERANCES, ctx.tolerances);
  const [gapMin, rhoNoise, constTol, spMin] = tols(t, 'gap_min', 'rho_noise', 'const_tol', 'spearman_min');
  const xs = depthRuns(runs, gapMin);
  return [
    selfStabilization(xs),
    belowThreshold(xs, constTol, rhoNoise, gapMin),
    growsWithDepth(xs, 'above', spMin),
    growsWithDepth(xs, 'below', spMin),
  ];
}

/** A run's cell: its depth (seeds pooled). */
const depthCell = (r: StudyRun) => {
  const d = depthOf(r);
  return { key: String(d), label: depthLabel(d), order: d };
};

export function depthRotationFigures(runs: StudyRun[], gapMin = 0.05): StudyFigure[] {
  const band = (caption: string) => `${caption} Per depth: the median over seeds (line) and their range (band).`;
  const sides = [
    { id: 'below', text: 'η = 0.5·2/λ0', pick: (r: StudyRun) => multipleOf(r).multiple < 1 },
    { id: 'above', text: 'η = 1.5·2/λ0', pick: (r: StudyRun) => multipleOf(r).multiple > 1 },
  ];
  return present(
    sides.flatMap((s) => {
      const mine = runs.filter(s.pick);
      return [
        medianBandFigure(
          mine.filter((r) => r.summary.status === 'completed'),
          {
            id: `rotation-${s.id}`,
            title: `1 − ρ_t at ${s.text}, mean over 20-step bins (log scale)`,
            caption: band(
              `1 − |cos| between successive top eigenvectors at ${s.text}, over the measurements whose relative eigengap is at least ${gapMin} (the linear model has none: its top eigenvalue is degenerate), averaged over bins of 20 steps.`,
            ),
            yTitle: '1 − ρ_t (log)',
            cell: depthCell,
            series: (r) =>
              splitDegenerate(rotationSteps(r.rows), gapMin).kept.map((p) => ({ step: p.step, value: 1 - p.rho })),
            bin: 20,
            logY: true,
          },
        ),
        medianBandFigure(mine, {
          id: `ratio-${s.id}`,
          title: `λ1 / (2/η) at ${s.text}`,
          caption: band(
            `Sharpness over its threshold at ${s.text}, every run (diverged ones until they diverged); dashed: 1.`,
          ),
          yTitle: 'λ1/(2/η)',
          cell: depthCell,
          series: (r) => ratioSeries(r.rows, 'sharpness'),
          ruleY: 1,
        }),
      ];
    }),
  );
}

export const depthRotation: StudyDefinition = {
  name: 'depth-rotation',
  execute: (ctx) => runMultiples(ctx),
  evaluate: evaluateDepthRotation,
  figures: (runs, ctx) => depthRotationFigures(runs, ctx.tolerances.gap_min),
};
