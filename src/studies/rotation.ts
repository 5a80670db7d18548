/**
 * `rotation`: GD on a small MLP at learning rates in multiples of 2/λ0, Lanczos every step
 * (= every epoch for full batch): ρ_t = |cos| between successive top eigenvectors and the top-k
 * subspace overlap (Wang & Roberts, "rotational polarity of eigenvectors"). Measurements whose
 * relative eigengap (λ1 − λ2)/λ1 is below gap_min (here or at the previous measurement) are
 * excluded: there λ1 and λ2 can exchange, which is no rotation. Above 2/λ0 a run catapults, then
 * sharpens back to 2/η and trains at the edge of stability, where unstable updates (λ1 ≥ 2/η
 * before them) and stable ones alternate: claims 4–6 are judged in that phase (from the first
 * return to 0.9·2/η), so instability is not confounded with early training. Claims:
 *   1. below 2/λ0, ρ stays ≈ 1: each seed's 5th percentile of ρ minus rho_stable_q05, positive
 *      across seeds (sign-flip test);
 *   2. above it, drops of ρ (episodes of consecutive measurements with ρ < rho_drop) coincide
 *      with loss spikes (a train-loss increase by more than spike_rel, relative, within
 *      coincidence_window steps of the episode): held when at least coincidence_min of the
 *      episodes do AND more than chance (circular-shift permutation test, p < p_max); did not
 *      hold when fewer do; inconclusive when chance explains the hits (dense instabilities); a
 *      second row counts instabilities as loss spikes or steps where λ1 ≥ 2/η;
 *   3. rotation per unit parameter displacement (arccos ρ/‖Δθ‖, param_displacement) grows with η
 *      (raw 1 − ρ grows with η by the step size alone): one Spearman(η, ·) per seed, their mean
 *      tested across seeds (judgePaired: sign-flip p < 0.05 and mean ≥ spearman_min);
 *   4. at the edge of stability, unstable updates rotate the top-k eigenspace more per unit
 *      displacement than stable ones in the same windows of match_window steps (per run the
 *      matched-window difference, with a block-shuffle null of the labels for that run; per seed
 *      the mean over the multiples above 2/λ0; across seeds judgePaired). The top-k space, not
 *      v1: at the edge λ1 and λ2 are often within a few per cent, where v1 is ill-defined;
 *   5. flatness follows rotation: over the after_steps updates after each drop of the top-k
 *      subspace overlap below rho_drop, λ1 changes by less (falls more, relative) than over
 *      after_steps updates from any step of the phase; per seed as in 4, across seeds
 *      judgePaired (negative);
 *   6. the parameter norm grows during instabilities: Δ‖θ‖ of unstable minus stable updates in
 *      matched windows, per seed and across seeds as in 4 (positive). When the study's seeds
 *      leave it undecided, follow-up runs (followUp.ts) judge it again on their seeds alone, at
 *      the follow-up's level; they enter no other claim and no figure.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { ROTATION_TOLERANCES, tolerancesOf } from './tolerances.ts';
import {
  edgeOfStability,
  episodesBelow,
  fmt,
  increaseSteps,
  lossPoints,
  mean,
  quantile,
  ratioSeries,
  seriesOf,
  spearman,
  tols,
} from './measures.ts';
import {
  anglePerDisplacement,
  blockShuffleP,
  coincidenceTest,
  matchedWindowDifference,
  dropEpisodes,
  rotationSteps,
  splitDegenerate,
  type CoincidenceRun,
  type CoincidenceTest,
  type RotationStep,
} from './claims/rotation.ts';
import { judgePaired, type PairedJudgement } from './stats.ts';
import { followUpAlpha, followUpHead, splitFollowUp, unjudgedFollowUp } from './followUp.ts';
import { medianBandFigure, present } from './figures.ts';
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

/**
 * Rotation of the top-k eigenspace at each step that has one (`subspace_overlap`, the mean squared
 * cosine of the principal angles with the previous measurement's top-k space): the RMS principal
 * angle arccos(√overlap), the distance travelled and whether the updates in between were
 * unstable. At the edge of stability λ1 and λ2 are often within a few per cent (both near 2/η),
 * where v1 alone is ill-defined but the top-k space is not.
 */
export function subspaceSteps(
  rows: StudyRun['rows'],
): { step: number; overlap: number; angle: number; displacement: number; unstable: boolean }[] {
  const out: { step: number; overlap: number; angle: number; displacement: number; unstable: boolean }[] = [];
  let prev: StudyRun['rows'][number] | null = null;
  for (const r of rows) {
    if (typeof r.sharpness !== 'number') continue;
    const o = r.subspace_overlap;
    const d = r.param_displacement;
    if (prev !== null && typeof o === 'number' && Number.isFinite(o) && typeof d === 'number')
      out.push({
        step: r.step,
        overlap: o,
        angle: Math.acos(Math.sqrt(Math.min(1, Math.max(0, o)))),
        displacement: d,
        unstable: typeof prev.threshold === 'number' && (prev.sharpness as number) >= prev.threshold,
      });
    prev = r;
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

/** The rotation material of the completed runs among `runs`. */
function rotationInfo(runs: readonly StudyRun[], gapMin: number): RunRotation[] {
  return runs
    .filter((r) => r.summary.status === 'completed')
    .map((r) => {
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
}

/** The runs above 2/λ0 that reached the edge of stability (from their first return to 0.9·2/η), and those that did not. */
function edgePhases(above: readonly RunRotation[]): {
  inPhase: { x: RunRotation; from: number }[];
  phaseNote: string[];
} {
  const phases = above.map((x) => ({ x, from: edgeOfStability(x.r.rows, { fraction: 0.9 }).reachStep }));
  return {
    inPhase: phases.filter((p): p is { x: RunRotation; from: number } => p.from !== null),
    phaseNote: phases.filter((p) => p.from === null).map((p) => `${p.x.label}: never returned to 0.9·2/η (left out)`),
  };
}

/** Per seed, the mean of its runs' finite values (seeds in increasing order). */
function bySeed(vals: readonly { x: RunRotation; v: number }[]): { seed: number; v: number }[] {
  const m = new Map<number, number[]>();
  for (const { x, v } of vals) {
    const seed = x.r.config.train.seed;
    if (Number.isFinite(v)) (m.get(seed) ?? m.set(seed, []).get(seed)!).push(v);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([seed, v]) => ({ seed, v: mean(v) }));
}

/**
 * Δ‖θ‖ per update of the unstable (λ1 ≥ 2/η before it) minus the stable updates within windows of
 * `matchW` steps from `from` on, with its block-shuffle null p (claim 6).
 */
function normGrowth(x: RunRotation, from: number, matchW: number): { v: number; text: string } {
  const norm = new Map(seriesOf(x.r.rows, 'param_norm').map((q) => [q.step, q.value]));
  const unstable = new Set(unstableSteps(x.r.rows));
  const xs = [...norm.keys()]
    .filter((t) => t > from && norm.has(t - 1))
    .sort((a, b) => a - b)
    .map((t) => ({ step: t, value: norm.get(t)! - norm.get(t - 1)!, unstable: unstable.has(t - 1) }));
  const m = matchedWindowDifference(xs, matchW);
  const pNull = blockShuffleP(xs, matchW, matchW, { seed: x.r.config.train.seed + 7 });
  return { v: m.diff, text: `${fmt(m.diff)} over ${m.windows} windows (block-shuffle p = ${fmt(pNull)})` };
}

export function evaluateRotation(
  all: StudyRun[],
  ctx: Pick<StudyContext, 'tolerances'> & Partial<Pick<StudyContext, 'file' | 'quick'>>,
): ClaimResult[] {
  // Follow-up runs (followUp.ts) enter claim 6 alone, and only when the study's seeds leave it undecided.
  const { main: runs, followUp } = splitFollowUp(all);
  const fuAlpha = followUpAlpha(ctx, followUp);
  const t = tolerancesOf(ROTATION_TOLERANCES, ctx.tolerances);
  const [matchW, afterK] = tols(t, 'match_window', 'after_steps');
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
  const info = rotationInfo(runs, gapMin);
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
      const j = judgePaired(
        parts.map((p) => p.q05 - q05Min),
        'positive',
        fmt,
      );
      out.push({
        claim,
        evidence:
          `5th percentile of ρ minus ${q05Min}, across seeds: ${j.text} (held: positive at p < 0.05; did not hold: negative at p < 0.05). ` +
          parts
            .map(
              (p) =>
                `${p.x.label}: 5th percentile of ρ ${fmt(p.q05)} (min ${fmt(p.min)}, ${p.x.steps.length} measurements, ${excl(p.x)}), mean top-k subspace overlap ${fmt(p.overlap)}`,
            )
            .join('; '),
        verdict: j.verdict,
        values: {
          n: j.cmp.n,
          mean_q05_excess: j.cmp.mean,
          lo: j.cmp.lo,
          hi: j.cmp.hi,
          p: j.cmp.pValue,
          ...Object.fromEntries(parts.map((p) => [`q05_${p.x.r.name}`, p.q05])),
        },
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
    // Held: most drops coincide and more than chance would; did not hold: most do not; a high
    // fraction that chance explains as well (dense instabilities) decides nothing.
    const judge = (c: CoincidenceTest): ClaimResult['verdict'] =>
      c.hits / c.total < coinMin ? 'did not hold' : c.pValue < pMax ? 'held' : 'inconclusive';
    const text = (c: CoincidenceTest) =>
      `${c.hits}/${c.total} episodes (${fmt((100 * c.hits) / c.total)} %; ${fmt(c.chanceHits)} expected by chance, p = ${fmt(c.pValue)} by circularly shifting the episodes over the measured steps); held: ≥ ${fmt(100 * coinMin)} % and p < ${pMax}; did not hold: < ${fmt(100 * coinMin)} %`;
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

  // 4–6. At the edge of stability (from the first return to 0.9·2/η after the catapult), within each run.
  const { inPhase, phaseNote } = edgePhases(above);
  const withinClaim = (o: {
    claim: string;
    unit: string;
    direction: 'positive' | 'negative';
    perRun: (p: { x: RunRotation; from: number }) => { v: number; text: string };
    key: string;
  }): ClaimResult => {
    const runsV = inPhase.map((p) => ({ x: p.x, ...o.perRun(p) }));
    const seeds = bySeed(runsV);
    const j = judgePaired(
      seeds.map((q) => q.v),
      o.direction,
      fmt,
    );
    return {
      claim: o.claim,
      evidence: `${o.unit}; per seed the mean over the multiples above 2/λ0, across seeds: ${j.text} (held: ${o.direction} at p < 0.05; did not hold: the other sign at p < 0.05). Per run: ${[
        ...runsV.map((r) => `${r.x.label}: ${r.text}`),
        ...phaseNote,
      ].join('; ')}`,
      verdict: j.verdict,
      values: {
        n: j.cmp.n,
        [o.key]: j.cmp.mean,
        lo: j.cmp.lo,
        hi: j.cmp.hi,
        p: j.cmp.pValue,
        runs_judged: runsV.filter((r) => Number.isFinite(r.v)).length,
      },
    };
  };
  out.push(
    withinClaim({
      claim:
        'At the edge of stability, updates from λ1 ≥ 2/η rotate the top-k eigenspace more per unit displacement than stable updates in the same time windows',
      unit: `rotation of the top-k eigenspace (RMS principal angle, rad) per unit ‖Δθ‖, unstable − stable updates within windows of ${matchW} steps`,
      direction: 'positive',
      key: 'mean_diff',
      perRun: ({ x, from }) => {
        const xs = subspaceSteps(x.r.rows)
          .filter((q) => q.step > from && q.displacement > 0)
          .map((q) => ({ step: q.step, value: q.angle / q.displacement, unstable: q.unstable }));
        const m = matchedWindowDifference(xs, matchW);
        const pNull = blockShuffleP(xs, matchW, matchW, { seed: x.r.config.train.seed + 1 });
        const nu = xs.filter((q) => q.unstable).length;
        return {
          v: m.diff,
          text: `${fmt(m.diff)} over ${m.windows} windows from step ${from} (${nu} unstable, ${xs.length - nu} stable updates; block-shuffle p = ${fmt(pNull)})`,
        };
      },
    }),
  );
  out.push(
    withinClaim({
      claim: `Flatness follows rotation: over the ${afterK} updates after the top-k subspace overlap drops below ${drop}, λ1 falls relative to the same span from any step of the phase`,
      unit: `relative change of λ1 over ${afterK} updates, after the first step of each drop episode of the top-k subspace overlap minus from every step of the phase`,
      direction: 'negative',
      key: 'mean_diff',
      perRun: ({ x, from }) => {
        const sharp = new Map(seriesOf(x.r.rows, 'sharpness').map((q) => [q.step, q.value]));
        const change = (t: number) => {
          const a = sharp.get(t);
          const b = sharp.get(t + afterK);
          return a !== undefined && b !== undefined && a > 0 ? (b - a) / a : Number.NaN;
        };
        const starts = episodesBelow(
          subspaceSteps(x.r.rows)
            .filter((q) => q.step > from)
            .map((q) => ({ step: q.step, value: q.overlap })),
          drop,
        ).map(([a]) => a);
        const after = starts.map(change).filter(Number.isFinite);
        const all = [...sharp.keys()]
          .filter((t) => t > from)
          .map(change)
          .filter(Number.isFinite);
        const v = after.length > 0 && all.length > 0 ? mean(after) - mean(all) : Number.NaN;
        return {
          v,
          text: `${after.length} episodes: ${fmt(after.length > 0 ? mean(after) : Number.NaN)} vs ${fmt(all.length > 0 ? mean(all) : Number.NaN)} from any step (difference ${fmt(v)})`,
        };
      },
    }),
  );
  const norm = withinClaim({
    claim:
      'The parameter norm grows during instabilities: unstable updates increase ‖θ‖ more than stable updates in the same time windows',
    unit: `Δ‖θ‖ per update, unstable − stable updates within windows of ${matchW} steps`,
    direction: 'positive',
    key: 'mean_diff',
    perRun: ({ x, from }) => normGrowth(x, from, matchW),
  });
  // Undecided on the study's seeds: judged again on the follow-up's seeds alone, at its level.
  const fu =
    norm.verdict === 'inconclusive' && fuAlpha !== null
      ? { alpha: fuAlpha, ...followUpNorm(followUp, gapMin, matchW, fuAlpha) }
      : null;
  out.push(
    fu
      ? {
          ...norm,
          evidence: `${norm.evidence}. ${fu.text}`,
          verdict: fu.j.verdict,
          values: {
            ...norm.values,
            follow_up_n: fu.j.cmp.n,
            follow_up_mean_diff: fu.j.cmp.mean,
            follow_up_lo: fu.j.cmp.lo,
            follow_up_hi: fu.j.cmp.hi,
            follow_up_p: fu.j.cmp.pValue,
            follow_up_alpha: fu.alpha,
          },
        }
      : norm,
  );
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

/**
 * Claim 6 on the follow-up runs alone, at `alpha`: every follow-up run must have completed (else
 * inconclusive, named); runs that never return to 0.9·2/η are left out, as in the study's own look.
 */
function followUpNorm(
  runs: readonly StudyRun[],
  gapMin: number,
  matchW: number,
  alpha: number,
): { j: PairedJudgement; text: string } {
  const head = followUpHead(
    runs.map((r) => r.config.train.seed),
    alpha,
  );
  const bad = runs.filter((r) => r.summary.status !== 'completed');
  if (bad.length > 0)
    return unjudgedFollowUp(
      head,
      `not completed: ${bad.map((r) => `${multipleLabel(r)} (${r.summary.status})`).join(', ')}`,
    );
  const { inPhase, phaseNote } = edgePhases(rotationInfo(runs, gapMin).filter((x) => x.multiple > 1));
  const perRun = inPhase.map((p) => ({ x: p.x, ...normGrowth(p.x, p.from, matchW) }));
  const j = judgePaired(
    bySeed(perRun).map((q) => q.v),
    'positive',
    fmt,
    { alpha },
  );
  return {
    j,
    text: `${head}, judged on its own seeds: ${j.text} → ${j.verdict} (held: positive at p < ${alpha}; did not hold: the other sign at p < ${alpha}). Per run: ${[
      ...perRun.map((r) => `${r.x.label}: ${r.text}`),
      ...phaseNote,
    ].join('; ')}`,
  };
}

/** A run's cell: its multiple of 2/λ0 (seeds pooled). */
const multipleCell = (r: StudyRun) => {
  const m = multipleOf(r).multiple;
  return { key: m.toPrecision(3), label: `η = ${fmt(m)}·2/λ0`, order: m };
};

export function rotationFigures(runs: StudyRun[]): StudyFigure[] {
  const done = runs.filter((r) => r.summary.status === 'completed');
  const band = (caption: string) =>
    `${caption} Per multiple of 2/λ0: the median over seeds (line) and their range (band).`;
  return present([
    medianBandFigure(done, {
      id: 'rotation',
      title: '1 − ρ_t, mean over 20-step bins (log scale)',
      caption: band(
        '1 − |cos| between successive top eigenvectors, averaged over bins of 20 steps: 0 = the top eigenvector did not move. It spans decades, hence the log scale.',
      ),
      yTitle: '1 − ρ_t (log)',
      cell: multipleCell,
      series: (r) => seriesOf(r.rows, 'eigvec_cos').map((p) => ({ step: p.step, value: 1 - p.value })),
      bin: 20,
      logY: true,
    }),
    medianBandFigure(done, {
      id: 'subspace',
      title: '1 − top-k subspace similarity, mean over 20-step bins (log scale)',
      caption: band('1 − the mean squared cosine of the principal angles between successive top-k eigenspaces.'),
      yTitle: '1 − overlap (log)',
      cell: multipleCell,
      series: (r) => seriesOf(r.rows, 'subspace_overlap').map((p) => ({ step: p.step, value: 1 - p.value })),
      bin: 20,
      logY: true,
    }),
    medianBandFigure(done, {
      id: 'ratio',
      title: 'λ1 / (2/η)',
      caption: band(
        'Sharpness over its threshold; dashed: 1. Above 2/λ0 the runs catapult, then return to the edge of stability.',
      ),
      yTitle: 'λ1/(2/η)',
      cell: multipleCell,
      series: (r) => ratioSeries(r.rows, 'sharpness'),
      ruleY: 1,
    }),
    medianBandFigure(done, {
      id: 'train-loss',
      title: 'Train loss (log scale)',
      caption: band('Full-batch train loss.'),
      yTitle: 'train loss (log)',
      cell: multipleCell,
      series: (r) => seriesOf(r.rows, 'train_loss'),
      logY: true,
    }),
    medianBandFigure(done, {
      id: 'param-norm',
      title: '‖θ‖',
      caption: band('Parameter norm.'),
      yTitle: '‖θ‖',
      cell: multipleCell,
      series: (r) => seriesOf(r.rows, 'param_norm'),
    }),
  ]);
}

export const rotation: StudyDefinition = {
  name: 'rotation',
  execute: (ctx) => runMultiples(ctx),
  evaluate: evaluateRotation,
  figures: (runs) => rotationFigures(splitFollowUp(runs).main),
};
