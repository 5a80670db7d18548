/**
 * `eos-adam`: full-batch Adam (Cohen et al. 2022, "Adaptive gradient methods at the edge of
 * stability"). Per run:
 *   1. the preconditioned sharpness λ1(P^-1/2 H P^-1/2), P = diag(√v̂ + ε), reaches
 *      reach_fraction·38/η and then hovers at (2 + 2β1)/((1 − β1)η) = 38/η (β1 = 0.9): median
 *      ratio in [ratio_lo, ratio_hi], interquartile spread ≤ ratio_iqr_max;
 *   2. the raw sharpness does not: over the same phase its median is at most raw_ratio_max of
 *      2/η (the raw threshold GD would have) — let alone of 38/η.
 * With several seeds, per (optimizer, β1, η) two more rows on the per-seed values: the preconditioned
 * ratio inside [ratio_lo, ratio_hi] (TOST, claims/eos.ts acrossSeedsBand) and the raw ratio below
 * raw_ratio_max (exact sign-flip test, acrossSeedsBelow); each with its t-interval and n. The
 * per-run rows of such a setting are then checks of single runs (scope 'run'), counted apart.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyRun } from './study.ts';
import { EOS_ADAM_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { edgeOfStability, fmt, median, seriesOf, tol } from './measures.ts';
import { hoverClaim } from './eos-gd.ts';
import { eosFigures } from './eos-gd.ts';
import { perRunFigure, present } from './figures.ts';
import { acrossSeedsBand, acrossSeedsBelow } from './claims/eos.ts';

export function adamLabel(r: StudyRun): string {
  const o = r.config.optimizer;
  const c = (2 + 2 * o.beta1) / ((1 - o.beta1) * o.lr);
  return `${o.name}, β1 = ${o.beta1}, η = ${fmt(o.lr)} (threshold ${fmt(c)})${r.params['train.seed'] !== undefined ? `, seed ${r.config.train.seed}` : ''}`;
}

export function evaluateEosAdam(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(EOS_ADAM_TOLERANCES, ctx.tolerances);
  const rawMax = tol(t, 'raw_ratio_max');
  const out: ClaimResult[] = [];
  // Per (optimizer, β1, η): each seed's median precond ratio and raw ratio, for the across-seed rows.
  const groups = new Map<string, { label: string; pre: number[]; raw: number[] }>();
  // Each per-run row's group: its rows are checks of single runs where the group gets across-seed rows.
  const groupOf = new Map<ClaimResult, string>();
  const push = (gk: string, c: ClaimResult) => {
    groupOf.set(c, gk);
    out.push(c);
  };
  for (const r of runs) {
    const label = adamLabel(r);
    const o = r.config.optimizer;
    const gk = `${o.name}|${o.beta1}|${o.lr}`;
    if (r.summary.status !== 'completed') {
      push(gk, {
        claim: `[${label}] run finished`,
        evidence: `status ${r.summary.status}: ${r.summary.reason ?? ''}`,
        verdict: 'inconclusive',
      });
      continue;
    }
    const e = edgeOfStability(r.rows, { fraction: tol(t, 'reach_fraction'), key: 'precond_sharpness' });
    const hover = hoverClaim(label, e, t, '(2+2β1)/((1−β1)η)');
    push(gk, {
      ...hover,
      claim: hover.claim.replace('the sharpness hovers', 'the preconditioned sharpness λ1(P⁻¹H) hovers'),
    });
    const claim = `[${label}] The raw sharpness λ1(H) does not: it stays below ${rawMax}·2/η`;
    const from = e.reachStep;
    if (from === null) {
      push(gk, {
        claim,
        evidence: 'the preconditioned sharpness never reached its threshold, so there is no phase to compare',
        verdict: 'inconclusive',
      });
      continue;
    }
    const lr = r.config.optimizer.lr;
    const raw = seriesOf(r.rows, 'sharpness')
      .filter((p) => p.step >= from)
      .map((p) => p.value);
    const pre = seriesOf(r.rows, 'precond_sharpness')
      .filter((p) => p.step >= from)
      .map((p) => p.value);
    const m = median(raw);
    const ratio = (m * lr) / 2;
    if (!groups.has(gk)) groups.set(gk, { label: label.replace(/, seed \d+$/, ''), pre: [], raw: [] });
    if (e.after.length > 0) groups.get(gk)!.pre.push(e.median);
    if (Number.isFinite(ratio)) groups.get(gk)!.raw.push(ratio);
    const threshold = (2 + 2 * r.config.optimizer.beta1) / ((1 - r.config.optimizer.beta1) * lr);
    push(gk, {
      claim,
      evidence: `from step ${from}: median λ1(H) ${fmt(m)} (range ${fmt(Math.min(...raw))}–${fmt(Math.max(...raw))}) = ${fmt(ratio)}·2/η = ${fmt(m / threshold)}·${fmt(threshold)}, while median λ1(P⁻¹H) = ${fmt(median(pre))}`,
      verdict: Number.isFinite(ratio) ? (ratio <= rawMax ? 'held' : 'did not hold') : 'inconclusive',
      values: { median_raw: m, raw_ratio_to_2_over_lr: ratio, median_precond: median(pre) },
    });
  }
  // Across seeds: the per-seed values judged against the band (TOST) or the ceiling (sign-flip test).
  const lo = tol(t, 'ratio_lo');
  const hi = tol(t, 'ratio_hi');
  const acrossSeeds = new Set<string>();
  for (const [gk, g] of groups) {
    if (g.pre.length >= 2 || g.raw.length >= 2) acrossSeeds.add(gk);
    if (g.pre.length >= 2) {
      const j = acrossSeedsBand(g.pre, lo, hi, fmt);
      out.push({
        claim: `[${g.label}] Across seeds, λ1(P⁻¹H) hovers at its threshold`,
        evidence: `mean of the per-seed median ratios ${j.text} (held: TOST shows the mean inside [${lo}, ${hi}] at p < 0.05; did not hold: outside it at p < 0.05)`,
        verdict: j.verdict,
        values: { mean_median_ratio: j.cmp.mean, lo: j.cmp.lo, hi: j.cmp.hi, tost_p: j.eq.pValue, seeds: j.cmp.n },
      });
    }
    if (g.raw.length >= 2) {
      const j = acrossSeedsBelow(g.raw, rawMax, fmt);
      out.push({
        claim: `[${g.label}] Across seeds, the raw sharpness stays below ${rawMax}·2/η`,
        evidence: `mean of the per-seed median λ1(H)/(2/η) minus ${rawMax}: ${j.text} (held: below ${rawMax} at sign-flip p < 0.05; did not hold: above it at p < 0.05)`,
        verdict: j.verdict,
        values: {
          mean_raw_ratio: j.cmp.mean + rawMax,
          lo: j.cmp.lo + rawMax,
          hi: j.cmp.hi + rawMax,
          p: j.cmp.pValue,
          seeds: j.cmp.n,
        },
      });
    }
  }
  return out.map((c) => (acrossSeeds.has(groupOf.get(c) ?? '') ? { ...c, scope: 'run' as const } : c));
}

const short = (r: StudyRun) => `${r.config.optimizer.name} η=${fmt(r.config.optimizer.lr)}`;

export const eosAdam: StudyDefinition = {
  name: 'eos-adam',
  evaluate: evaluateEosAdam,
  figures: (runs) => [
    ...eosFigures(runs, short, 'precond_sharpness', '38/η'),
    ...present([
      perRunFigure(runs, {
        id: 'raw-sharpness',
        title: 'Raw sharpness λ1(H)',
        caption: 'The raw sharpness of the same runs: far below both 2/η and 38/η.',
        key: 'sharpness',
        yTitle: 'λ1(H)',
        label: short,
      }),
    ]),
  ],
};
