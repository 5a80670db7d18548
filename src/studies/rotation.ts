/**
 * `rotation`: GD on a small MLP at learning rates in multiples of 2/λ0, Lanczos every step
 * (= every epoch for full batch): ρ_t = |cos| between successive top eigenvectors and the top-k
 * subspace overlap (Wang & Roberts, "rotational polarity of eigenvectors"). Measurements whose
 * relative eigengap (λ1 − λ2)/λ1 is below gap_min (here or at the previous measurement) are
 * excluded: there λ1 and λ2 can exchange, which is no rotation. Claims:
 *   1. below 2/λ0, ρ stays ≈ 1 (its 5th percentile is at least rho_stable_q05);
 *   2. above it, drops of ρ (episodes of consecutive measurements with ρ < rho_drop) coincide
 *      with loss spikes (a train-loss increase by more than spike_rel, relative, within
 *      coincidence_window steps of the episode): at least coincidence_min of the episodes do AND
 *      more than chance (circular-shift permutation test, p < p_max); a second row counts
 *      instabilities as loss spikes or steps where λ1 ≥ 2/η;
 *   3. rotation per unit parameter displacement (arccos ρ/‖Δθ‖, param_displacement) grows with η
 *      (raw 1 − ρ grows with η by the step size alone): one Spearman(η, ·) per seed, their mean
 *      tested across seeds (judgePaired: sign-flip p < 0.05 and mean ≥ spearman_min);
 *   4. within each run above 2/λ0, updates from λ1 ≥ 2/η rotate more per unit displacement than
 *      updates from λ1 < 2/η: per run the difference of the means (runs with ≥ 2 updates of each
 *      kind), across seeds at each multiple judgePaired on those differences; held when every
 *      multiple holds.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { ROTATION_TOLERANCES, tolerancesOf } from './tolerances.ts';
import {
  combineVerdicts,
  fmt,
  increaseSteps,
  lossPoints,
  mean,
  quantile,
  seriesOf,
  spearman,
  tols,
} from './measures.ts';
import {
  anglePerDisplacement,
  coincidenceTest,
  dropEpisodes,
  rotationSteps,
  splitDegenerate,
  type CoincidenceRun,
  type CoincidenceTest,
  type RotationStep,
} from './claims/rotation.ts';
import { judgePaired } from './stats.ts';
import { perRunFigure, present } from './figures.ts';
import { multipleOf, runMultiples } from './plan.ts';

/** `η = 2·(2/λ0)` style label, with the seed when the study has several. */
export function multipleLabel(r: StudyRun): string {
  const { multiple } = multipleOf(r);
  const seed = r.params['train.seed'];
  return `η = ${fmt(multiple)}·2/λ0${seed !== undefined ? `, seed ${String(seed)}` : ''}`;
}

// Moved to measures.ts; re-exported for existing importers.
export { episodesBelow } from './measures.ts';

/** Steps at which the measured λ1 was at least the threshold (the update from there is unstable along v1). */
export function unstableSteps(rows: StudyRun['rows']): number[] {
  const out: number[] = [];
  for (const r of rows) {
    if (typeof r.sharpness === 'number' && typeof r.threshold === 'number' && r.sharpness >= r.threshold)
      out.push(r.step);
  }
  return out;
}

/** One run's rotation material (non-degenerate steps only). */
interface RunRotation {
  r: StudyRun;
  lambda0: number;
  multiple: number;
  label: string;
  steps: RotationStep[];
  degenerate: RotationStep[];
  overlap: number[];
}

export function evaluateRotation(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(ROTATION_TOLERANCES, ctx.tolerances);
  const [q05Min, drop, spikeRel, w, coinMin, spMin, gapMin, pMax] = tols(
    t,
    'rho_stable_q05',
    'rho_drop',
    'spike_rel',
    'coincidence_window',
    'coincidence_min',
    'spearman_min',
    'gap_min',
    'p_max',
  );
  const ok = runs.filter((r) => r.summary.status === 'completed');
  const info: RunRotation[] = ok.map((r) => {
    const { kept, degenerate } = splitDegenerate(rotationSteps(r.rows), gapMin);
    return {
      r,
      ...multipleOf(r),
      steps: kept,
      degenerate,
      overlap: seriesOf(r.rows, 'subspace_overlap').map((p) => p.value),
      label: multipleLabel(r),
    };
  });
  const excl = (x: RunRotation) =>
    `${x.degenerate.length} near-degenerate steps (relative eigengap < ${gapMin}) excluded`;
  const out: ClaimResult[] = [];

  // 1. Below the threshold.
  const below = info.filter((x) => x.multiple < 1 && x.steps.length > 0);
  {
    const claim = 'Below 2/λ0 the top eigenvector does not rotate: ρ_t stays ≈ 1';
    if (below.length === 0) {
      out.push({ claim, evidence: 'no completed run below 2/λ0 with rotation measurements', verdict: 'inconclusive' });
    } else {
      const parts = below.map((x) => {
        const rho = x.steps.map((p) => p.rho);
        return { x, q05: quantile(rho, 0.05), min: Math.min(...rho), overlap: mean(x.overlap) };
      });
      const held = parts.every((p) => p.q05 >= q05Min);
      out.push({
        claim,
        evidence:
          parts
            .map(
              (p) =>
                `${p.x.label}: 5th percentile of ρ ${fmt(p.q05)} (min ${fmt(p.min)}, ${p.x.steps.length} measurements, ${excl(p.x)}), mean top-k subspace overlap ${fmt(p.overlap)}`,
            )
            .join('; ') + `; tolerance: 5th percentile ≥ ${q05Min}`,
        verdict: held ? 'held' : 'did not hold',
        values: Object.fromEntries(
          parts.flatMap((p) => [
            [`q05_m${fmt(p.x.multiple)}`, p.q05],
            [`min_m${fmt(p.x.multiple)}`, p.min],
          ]),
        ),
      });
    }
  }

  // 2. Above the threshold: drop episodes vs loss spikes (and vs instabilities in general), against chance.
  const above = info.filter((x) => x.multiple > 1 && x.steps.length > 0);
  {
    const spikeRuns: CoincidenceRun[] = [];
    const anyRuns: CoincidenceRun[] = [];
    const per: string[] = [];
    let swaps = 0;
    for (const x of above) {
      const episodes = dropEpisodes(x.steps, drop);
      const spikes = increaseSteps(lossPoints(x.r.rows), spikeRel);
      const any = [...spikes, ...unstableSteps(x.r.rows)];
      const steps = x.steps.map((p) => p.step);
      spikeRuns.push({ episodes, marks: spikes, steps });
      anyRuns.push({ episodes, marks: any, steps });
      const sw = x.degenerate.filter((p) => p.rho < drop).length;
      swaps += sw;
      // Drops where the new v1 still lies in the previous top-k eigenspace: v1 turned within it.
      const drops = x.steps.filter((p) => p.rho < drop);
      const inside = drops.filter((p) => p.rhoSubspace !== null && p.rhoSubspace >= drop).length;
      const insideText = drops.some((p) => p.rhoSubspace !== null)
        ? `, ${inside} of the ${drops.length} drops stayed inside the previous top-k eigenspace`
        : '';
      per.push(
        `${x.label}: ${episodes.length} drop episodes over ${steps.length} measurements (${sw} drops at near-degenerate steps excluded${insideText}), ${spikes.length} loss spikes`,
      );
    }
    const cs = coincidenceTest(spikeRuns, w, { seed: 1 });
    const ca = coincidenceTest(anyRuns, w, { seed: 2 });
    const claim = `Above 2/λ0, drops of ρ (ρ < ${drop}) coincide with loss spikes (within ${w} steps), more often than chance`;
    const claimAny = `Above 2/λ0, drops of ρ coincide with instabilities (a loss spike, or λ1 ≥ 2/η, within ${w} steps), more often than chance`;
    const judge = (c: CoincidenceTest): ClaimResult['verdict'] =>
      c.hits / c.total >= coinMin && c.pValue < pMax ? 'held' : 'did not hold';
    const text = (c: CoincidenceTest) =>
      `${c.hits}/${c.total} episodes (${fmt((100 * c.hits) / c.total)} %; ${fmt(c.chanceHits)} expected by chance, p = ${fmt(c.pValue)} by circularly shifting the episodes over the measured steps); need ≥ ${fmt(100 * coinMin)} % and p < ${pMax}`;
    if (above.length === 0 || cs.total === 0) {
      const why =
        above.length === 0
          ? 'no completed run above 2/λ0'
          : 'no drop of ρ at non-degenerate steps in the runs above 2/λ0';
      out.push({ claim, evidence: why, verdict: 'inconclusive' });
      out.push({ claim: claimAny, evidence: why, verdict: 'inconclusive' });
    } else {
      out.push({
        claim,
        evidence: `${text(cs)}. ${per.join('; ')}`,
        verdict: judge(cs),
        values: {
          episodes: cs.total,
          coinciding: cs.hits,
          fraction: cs.hits / cs.total,
          chance_hits: cs.chanceHits,
          p_value: cs.pValue,
          degenerate_drops: swaps,
        },
      });
      out.push({
        claim: claimAny,
        evidence: text(ca),
        verdict: judge(ca),
        values: {
          episodes: ca.total,
          coinciding: ca.hits,
          fraction: ca.hits / ca.total,
          chance_hits: ca.chanceHits,
          p_value: ca.pValue,
        },
      });
    }
  }

  // 3. Rotation against η, per unit distance travelled (a larger η takes longer steps, which rotate more by themselves).
  {
    const claim = 'Rotation per unit parameter displacement (arccos ρ / ‖Δθ‖) grows with η';
    const pts = info.map((x) => ({ x, v: mean(anglePerDisplacement(x.steps)) })).filter((p) => Number.isFinite(p.v));
    const distinct = new Set(pts.map((p) => p.x.multiple.toPrecision(6))).size;
    const rawNote = `unnormalised mean 1 − ρ per run: ${info.map((x) => `${x.label}: ${fmt(mean(x.steps.map((p) => 1 - p.rho)))}`).join(', ')}`;
    if (distinct < 3) {
      out.push({
        claim,
        evidence: `${distinct} distinct learning rates with rotation and param_displacement measurements (need 3); ${rawNote}`,
        verdict: 'inconclusive',
      });
    } else {
      const rs = spearman(
        pts.map((p) => p.x.multiple),
        pts.map((p) => p.v),
      );
      const ms = [...new Set(pts.map((p) => p.x.multiple.toPrecision(6)))].map(Number).sort((a, b) => a - b);
      const perM = ms.map((m) => {
        const vs = pts.filter((p) => p.x.multiple.toPrecision(6) === m.toPrecision(6)).map((p) => p.v);
        return `${fmt(m)}×: ${fmt(mean(vs))} (n = ${vs.length})`;
      });
      // Seeds are the independent units: one Spearman(η, rotation per displacement) per seed over its
      // learning rates, then a one-sample sign-flip test of their mean (held: p < 0.05, mean ≥ spearman_min).
      const seedOf = (p: (typeof pts)[number]) => p.x.r.config.train.seed;
      const perSeed = [...new Set(pts.map(seedOf))]
        .sort((a, b) => a - b)
        .map((sd) => {
          const mine = pts.filter((p) => seedOf(p) === sd);
          const n = new Set(mine.map((p) => p.x.multiple.toPrecision(6))).size;
          return {
            seed: sd,
            rs:
              n >= 3
                ? spearman(
                    mine.map((p) => p.x.multiple),
                    mine.map((p) => p.v),
                  )
                : Number.NaN,
          };
        })
        .filter((x) => Number.isFinite(x.rs));
      const j = judgePaired(
        perSeed.map((x) => x.rs),
        'positive',
        fmt,
        { minEffect: spMin, margin: spMin },
      );
      out.push({
        claim,
        evidence: `per-seed Spearman(η, rotation per displacement) ${perSeed.map((x) => `seed ${x.seed}: ${fmt(x.rs)}`).join(', ')}; mean ${j.text} (held: p < 0.05 and mean ≥ ${spMin}; did not hold: p < 0.05 with a negative mean, or TOST shows |mean| < ${spMin}); pooled over ${pts.length} runs: ${fmt(rs)}; mean per multiple (rad per unit ‖Δθ‖): ${perM.join(', ')}; ${rawNote}`,
        verdict: j.verdict,
        values: { spearman: rs, spearman_seed_mean: j.cmp.mean, p: j.cmp.pValue, seeds: j.cmp.n },
      });
    }
  }

  // 4. Within each run above the threshold (same η, so no step-size confound between runs):
  //    unstable updates (λ1 ≥ 2/η before them) rotate more than stable ones.
  {
    const claim =
      'Within a run above 2/λ0, updates from λ1 ≥ 2/η rotate the top eigenvector more (per unit displacement) than updates from λ1 < 2/η';
    const withDisp = above.length > 0 && above.every((x) => anglePerDisplacement(x.steps).length > 0);
    const measure = (s: readonly RotationStep[]) => (withDisp ? anglePerDisplacement(s) : s.map((p) => p.angle));
    const unit = withDisp ? 'rad per unit ‖Δθ‖' : 'rad (param_displacement not recorded: unnormalised angle)';
    const parts: string[] = [];
    const values: Record<string, number | boolean> = { normalised: withDisp };
    // Per run: the difference of the mean rotation of its unstable and stable updates; across seeds
    // at each multiple: those differences paired by seed (judgePaired; the seeds are the units, the
    // autocorrelated updates within a run are not).
    const byMultiple = new Map<string, { m: number; d: number[] }>();
    let judgedRuns = 0;
    for (const x of above) {
      const unstable = measure(x.steps.filter((p) => p.unstable));
      const stable = measure(x.steps.filter((p) => !p.unstable));
      if (unstable.length < 2 || stable.length < 2) {
        parts.push(
          `${x.label}: ${unstable.length} unstable and ${stable.length} stable updates (need 2 of each; not judged)`,
        );
        continue;
      }
      judgedRuns++;
      const d = mean(unstable) - mean(stable);
      parts.push(
        `${x.label}: ${fmt(mean(unstable))} (${unstable.length} unstable) vs ${fmt(mean(stable))} (${stable.length} stable), difference ${fmt(d)}`,
      );
      values[`diff_m${fmt(x.multiple)}_s${x.r.config.train.seed}`] = d;
      const k = x.multiple.toPrecision(6);
      if (!byMultiple.has(k)) byMultiple.set(k, { m: x.multiple, d: [] });
      byMultiple.get(k)!.d.push(d);
    }
    const vs: ClaimResult['verdict'][] = [];
    const across: string[] = [];
    for (const { m, d } of [...byMultiple.values()].sort((a, b) => a.m - b.m)) {
      const j = judgePaired(d, 'positive', fmt);
      vs.push(j.verdict);
      across.push(`${fmt(m)}×: unstable − stable ${j.text} → ${j.verdict}`);
      values[`p_m${fmt(m)}`] = j.cmp.pValue;
    }
    out.push({
      claim,
      evidence:
        vs.length === 0
          ? `no run above 2/λ0 with both kinds of update; ${parts.join('; ')}`
          : `mean rotation, ${unit}; across seeds per multiple: ${across.join('; ')} (held: sign-flip p < 0.05 with more rotation from λ1 ≥ 2/η; the claim holds when every multiple holds); per run: ${parts.join('; ')}`,
      verdict: combineVerdicts(vs),
      values: {
        ...values,
        runs_judged: judgedRuns,
        multiples_judged: vs.length,
        multiples_held: vs.filter((v) => v === 'held').length,
      },
    });
  }
  // Runs that did not complete are listed, not judged.
  for (const r of runs.filter((x) => x.summary.status !== 'completed')) {
    out.push({
      claim: `[${multipleLabel(r)}] run finished`,
      evidence: `status ${r.summary.status}: ${r.summary.reason ?? ''}`,
      verdict: 'inconclusive',
    });
  }
  return out;
}

export function rotationFigures(runs: StudyRun[]): StudyFigure[] {
  const sorted = [...runs].sort((a, b) => multipleOf(a).multiple - multipleOf(b).multiple);
  return present([
    perRunFigure(sorted, {
      id: 'rho',
      title: 'ρ_t: |cos| between successive top eigenvectors',
      caption: 'One line per run; 1 = the top eigenvector did not move between measurements.',
      key: 'eigvec_cos',
      yTitle: 'ρ_t',
      label: multipleLabel,
      yDomain: [0, 1],
    }),
    perRunFigure(sorted, {
      id: 'subspace',
      title: 'Top-k subspace similarity between successive measurements',
      caption: 'Mean squared cosine of the principal angles between successive top-k eigenspaces.',
      key: 'subspace_overlap',
      yTitle: 'overlap',
      label: multipleLabel,
      yDomain: [0, 1],
    }),
    perRunFigure(sorted, {
      id: 'train-loss',
      title: 'Train loss',
      caption: 'Loss spikes above 2/λ0 line up with the drops of ρ.',
      key: 'train_loss',
      yTitle: 'train loss (log)',
      label: multipleLabel,
      logY: true,
    }),
    perRunFigure(sorted, {
      id: 'ratio',
      title: 'λ1 / (2/η)',
      caption: 'Sharpness over its threshold; dashed: 1.',
      key: 'sharpness',
      yTitle: 'λ1/(2/η)',
      label: multipleLabel,
      ruleY: 1,
      ratioTo: 'threshold',
    }),
  ]);
}

export const rotation: StudyDefinition = {
  name: 'rotation',
  execute: (ctx) => runMultiples(ctx),
  evaluate: evaluateRotation,
  figures: (runs) => rotationFigures(runs),
};
