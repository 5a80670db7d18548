/**
 * `rotation`: GD on a small MLP at learning rates in multiples of 2/λ0, Lanczos every step
 * (= every epoch for full batch): ρ_t = |cos| between successive top eigenvectors and the top-k
 * subspace overlap (Wang & Roberts, "rotational polarity of eigenvectors"). Claims:
 *   1. below 2/λ0, ρ stays ≈ 1 (its 5th percentile is at least rho_stable_q05);
 *   2. above it, drops of ρ (episodes of consecutive measurements with ρ < rho_drop) coincide
 *      with loss spikes (a train-loss increase by more than spike_rel, relative, within
 *      coincidence_window steps of the episode): at least coincidence_min of the episodes do;
 *      reported next to the chance level and, as a second row, with instabilities counted as
 *      loss spikes or steps where λ1 ≥ 2/η;
 *   3. mean rotation 1 − ρ grows with η: Spearman(η/(2/λ0), mean 1 − ρ) ≥ spearman_min.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { coincidence, coverage, fmt, increaseSteps, lossPoints, mean, meanRotation, quantile, seriesOf, spearman, tol } from './measures.ts';
import { perRunFigure, present } from './figures.ts';
import { multipleOf, runMultiples } from './plan.ts';

/** `η = 2·(2/λ0)` style label, with the seed when the study has several. */
export function multipleLabel(r: StudyRun): string {
  const { multiple } = multipleOf(r);
  const seed = r.params['train.seed'];
  return `η = ${fmt(multiple)}·2/λ0${seed !== undefined ? `, seed ${String(seed)}` : ''}`;
}

/** Maximal runs of consecutive measurements (in row order) whose value is below `level`: [firstStep, lastStep]. */
export function episodesBelow(points: readonly { step: number; value: number }[], level: number): [number, number][] {
  const out: [number, number][] = [];
  let start: number | null = null;
  let last = 0;
  for (const p of points) {
    if (p.value < level) {
      if (start === null) start = p.step;
      last = p.step;
    } else if (start !== null) {
      out.push([start, last]);
      start = null;
    }
  }
  if (start !== null) out.push([start, last]);
  return out;
}

/** Steps at which the measured λ1 was at least the threshold (the update from there is unstable along v1). */
export function unstableSteps(rows: StudyRun['rows']): number[] {
  const out: number[] = [];
  for (const r of rows) {
    if (typeof r.sharpness === 'number' && typeof r.threshold === 'number' && r.sharpness >= r.threshold) out.push(r.step);
  }
  return out;
}

/** Fraction of episodes with a mark in [start − w, end + w]; and the chance level for steps. */
function episodeCoincidence(episodes: [number, number][], marks: number[], w: number): { hits: number; total: number } {
  let hits = 0;
  for (const [a, b] of episodes) {
    // An episode is a stretch: shrink it to its midpoint with a widened window.
    const mid = (a + b) / 2;
    if (coincidence([mid], marks, w + (b - a) / 2) === 1) hits++;
  }
  return { hits, total: episodes.length };
}

export function evaluateRotation(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = ctx.tolerances;
  const q05Min = tol(t, 'rho_stable_q05');
  const drop = tol(t, 'rho_drop');
  const spikeRel = tol(t, 'spike_rel');
  const w = tol(t, 'coincidence_window');
  const coinMin = tol(t, 'coincidence_min');
  const spMin = tol(t, 'spearman_min');
  const ok = runs.filter((r) => r.summary.status === 'completed');
  const info = ok.map((r) => {
    const rho = seriesOf(r.rows, 'eigvec_cos');
    const overlap = seriesOf(r.rows, 'subspace_overlap');
    return { r, ...multipleOf(r), rho, overlap, label: multipleLabel(r) };
  });
  const out: ClaimResult[] = [];

  // 1. Below the threshold.
  const below = info.filter((x) => x.multiple < 1 && x.rho.length > 0);
  {
    const claim = 'Below 2/λ0 the top eigenvector does not rotate: ρ_t stays ≈ 1';
    if (below.length === 0) {
      out.push({ claim, evidence: 'no completed run below 2/λ0', verdict: 'inconclusive' });
    } else {
      const parts = below.map((x) => {
        const q05 = quantile(x.rho.map((p) => p.value), 0.05);
        const min = Math.min(...x.rho.map((p) => p.value));
        return { x, q05, min, overlap: mean(x.overlap.map((p) => p.value)) };
      });
      const held = parts.every((p) => p.q05 >= q05Min);
      out.push({
        claim,
        evidence: parts.map((p) => `${p.x.label}: 5th percentile of ρ ${fmt(p.q05)} (min ${fmt(p.min)}, ${p.x.rho.length} measurements), mean top-k subspace overlap ${fmt(p.overlap)}`).join('; ') + `; tolerance: 5th percentile ≥ ${q05Min}`,
        verdict: held ? 'held' : 'did not hold',
        values: Object.fromEntries(parts.flatMap((p) => [[`q05_m${fmt(p.x.multiple)}`, p.q05], [`min_m${fmt(p.x.multiple)}`, p.min]])),
      });
    }
  }

  // 2. Above the threshold: drop episodes vs loss spikes (and vs instabilities in general).
  const above = info.filter((x) => x.multiple > 1 && x.rho.length > 0);
  {
    let hits = 0;
    let hitsAny = 0;
    let total = 0;
    const chance: number[] = [];
    const chanceAny: number[] = [];
    const per: string[] = [];
    for (const x of above) {
      const eps = episodesBelow(x.rho, drop);
      const spikes = increaseSteps(lossPoints(x.r.rows), spikeRel);
      const unstable = unstableSteps(x.r.rows);
      const any = [...spikes, ...unstable];
      const c = episodeCoincidence(eps, spikes, w);
      const ca = episodeCoincidence(eps, any, w);
      hits += c.hits;
      hitsAny += ca.hits;
      total += eps.length;
      const steps = x.rho.map((p) => p.step);
      chance.push(coverage(steps, spikes, w));
      chanceAny.push(coverage(steps, any, w));
      per.push(`${x.label}: ${eps.length} drop episodes, ${c.hits} near a loss spike (${spikes.length} spikes), ${ca.hits} near a spike or λ1 ≥ 2/η`);
    }
    const frac = total > 0 ? hits / total : Number.NaN;
    const fracAny = total > 0 ? hitsAny / total : Number.NaN;
    const claim = `Above 2/λ0, drops of ρ (ρ < ${drop}) coincide with loss spikes (within ${w} steps)`;
    const claimAny = `Above 2/λ0, drops of ρ coincide with instabilities (a loss spike, or λ1 ≥ 2/η, within ${w} steps)`;
    if (above.length === 0 || total === 0) {
      const why = above.length === 0 ? 'no completed run above 2/λ0' : 'no drop of ρ in the runs above 2/λ0';
      out.push({ claim, evidence: why, verdict: 'inconclusive' });
      out.push({ claim: claimAny, evidence: why, verdict: 'inconclusive' });
    } else {
      out.push({
        claim,
        evidence: `${hits}/${total} episodes (${fmt(100 * frac)} %; chance level ${fmt(100 * mean(chance))} % of measured steps lie that close to a spike); need ≥ ${fmt(100 * coinMin)} %. ${per.join('; ')}`,
        verdict: frac >= coinMin ? 'held' : 'did not hold',
        values: { episodes: total, coinciding: hits, fraction: frac, chance: mean(chance) },
      });
      out.push({
        claim: claimAny,
        evidence: `${hitsAny}/${total} episodes (${fmt(100 * fracAny)} %; chance level ${fmt(100 * mean(chanceAny))} %); need ≥ ${fmt(100 * coinMin)} %`,
        verdict: fracAny >= coinMin ? 'held' : 'did not hold',
        values: { episodes: total, coinciding: hitsAny, fraction: fracAny, chance: mean(chanceAny) },
      });
    }
  }

  // 3. Mean rotation against η.
  {
    const claim = 'Mean rotation 1 − ρ grows with η';
    const pts = info.filter((x) => x.rho.length > 0).map((x) => ({ m: x.multiple, rot: meanRotation(x.r.rows), ov: mean(x.overlap.map((p) => 1 - p.value)), label: x.label }));
    const distinct = new Set(pts.map((p) => p.m.toPrecision(6))).size;
    if (distinct < 3) {
      out.push({ claim, evidence: `${distinct} distinct learning rates with measurements (need 3)`, verdict: 'inconclusive' });
    } else {
      const rs = spearman(pts.map((p) => p.m), pts.map((p) => p.rot));
      const rsOv = spearman(pts.map((p) => p.m), pts.map((p) => p.ov));
      out.push({
        claim,
        evidence: `Spearman(η, mean 1 − ρ) = ${fmt(rs)} over ${pts.length} runs (need ≥ ${spMin}); per run: ${pts.map((p) => `${p.label}: ${fmt(p.rot)}`).join(', ')}; top-k subspace: Spearman(η, mean 1 − overlap) = ${fmt(rsOv)}`,
        verdict: Number.isFinite(rs) ? (rs >= spMin ? 'held' : 'did not hold') : 'inconclusive',
        values: { spearman: rs, spearman_subspace: rsOv },
      });
    }
  }
  // Runs that did not complete are listed, not judged.
  for (const r of runs.filter((x) => x.summary.status !== 'completed')) {
    out.push({ claim: `[${multipleLabel(r)}] run finished`, evidence: `status ${r.summary.status}: ${r.summary.reason ?? ''}`, verdict: 'inconclusive' });
  }
  return out;
}

export function rotationFigures(runs: StudyRun[]): StudyFigure[] {
  const sorted = [...runs].sort((a, b) => multipleOf(a).multiple - multipleOf(b).multiple);
  return present([
    perRunFigure(sorted, { id: 'rho', title: 'ρ_t: |cos| between successive top eigenvectors', caption: 'One line per run; 1 = the top eigenvector did not move between measurements.', key: 'eigvec_cos', yTitle: 'ρ_t', label: multipleLabel, yDomain: [0, 1] }),
    perRunFigure(sorted, { id: 'subspace', title: 'Top-k subspace similarity between successive measurements', caption: 'Mean squared cosine of the principal angles between successive top-k eigenspaces.', key: 'subspace_overlap', yTitle: 'overlap', label: multipleLabel, yDomain: [0, 1] }),
    perRunFigure(sorted, { id: 'train-loss', title: 'Train loss', caption: 'Loss spikes above 2/λ0 line up with the drops of ρ.', key: 'train_loss', yTitle: 'train loss (log)', label: multipleLabel, logY: true }),
    perRunFigure(sorted, { id: 'ratio', title: 'λ1 / (2/η)', caption: 'Sharpness over its threshold; dashed: 1.', key: 'sharpness', yTitle: 'λ1/(2/η)', label: multipleLabel, ruleY: 1, ratioTo: 'threshold' }),
  ]);
}

export const rotation: StudyDefinition = {
  name: 'rotation',
  execute: (ctx) => runMultiples(ctx),
  evaluate: evaluateRotation,
  figures: (runs) => rotationFigures(runs),
};
