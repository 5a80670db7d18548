/**
 * `adam-clipped`: Adam and RMSProp against their clipped-denominator variants adam-ub and
 * rmsprop-ub, θ ← θ − η·m̂/(min(√v̂, c) + ε) (rmsprop-ub: β1 = 0), at several c and η, several
 * seeds. "Restoring instabilities" (Wang & Roberts): capping the denominator keeps the effective
 * step at least η/c in every coordinate. Each capped run is compared with the bias-corrected
 * uncapped reference — the same optimizer with c = NO_CAP (plain rmsprop has no bias correction
 * of v, so it differs from rmsprop-ub even where no cap binds) — at the same η and seed. Per
 * family and cell (c, η), paired by seed (stats.ts judgePaired: t-interval, exact sign-flip p):
 *   1. more instabilities: more loss spikes (epoch-to-epoch rises of the full train loss by more
 *      than spike_rel) AND a larger fraction of the measurements with λ1(P⁻¹H) above its
 *      threshold 38/η (2/η for β1 = 0) than the reference — both differences significant (p < 0.05) and > 0;
 *      a capped run that diverged counts as an instability;
 *   2. ends flatter: lower λ1(H) after settling (settle.ts: settle.steps full-batch GD updates at
 *      η_s = settle.lr_multiple·2/λ_max from the final checkpoint, λ_max the largest final λ1(H)
 *      among the seed's runs, so one η_s per seed; the raw final λ1(H) is reported beside it)
 *      (difference < 0 at p < 0.05);
 *   3. generalizes better: higher final test accuracy by more than acc_tie (p < 0.05; did not
 *      hold when TOST puts the difference within ±acc_tie).
 * Diverged capped runs stay in the tally: they fail claims 2 and 3 (where the reference trained).
 * Cells whose capped runs all follow the reference's loss curve (the cap never bound) are listed,
 * not judged. A claim holds when every judged cell holds, did not hold when none does and one
 * fails, and is inconclusive otherwise.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun, Verdict } from './study.ts';
import { ADAM_CLIPPED_TOLERANCES, tolerancesOf } from './tolerances.ts';
import { fmt, increaseSteps, lossPoints, mean, ratioSeries, seriesOf, tol } from './measures.ts';
import { judgePaired } from './stats.ts';
import { medianBandFigure, present } from './figures.ts';
import { runStudySweep } from './run.ts';
import { readSettled, settleCompletedRuns } from './settle.ts';

/** A cap at least this large never binds (√v̂ of a trainable run is far below it): the unclipped reference. */
export const NO_CAP = 1e6;

interface OptStats {
  r: StudyRun;
  spikes: number;
  /** Fraction of the measurements with λ1(P⁻¹H)/threshold ≥ 1 (raw λ1/threshold without a preconditioned one). */
  above: number;
  excursion: number;
  finalSharp: number;
  /** λ1(H) after settling (NaN if not settled). */
  settled: number;
  testAcc: number;
}

function stats(r: StudyRun, spikeRel: number): OptStats {
  const pre = ratioSeries(r.rows, 'precond_sharpness');
  const raw = ratioSeries(r.rows, 'sharpness');
  const useful = pre.length > 0 ? pre : raw;
  return {
    r,
    spikes: increaseSteps(lossPoints(r.rows), spikeRel).length,
    above: useful.length > 0 ? useful.filter((p) => p.value >= 1).length / useful.length : Number.NaN,
    excursion: useful.length > 0 ? Math.max(...useful.map((p) => p.value)) : Number.NaN,
    finalSharp: finalSharpness(r),
    settled:
      typeof r.params.settled_sharpness === 'number'
        ? r.params.settled_sharpness
        : (readSettled(r.dir)?.sharpness ?? Number.NaN),
    testAcc: r.summary.final.test_acc ?? Number.NaN,
  };
}

/** The last measured λ1(H) of a run; NaN if none. */
function finalSharpness(r: StudyRun): number {
  const sharp = seriesOf(r.rows, 'sharpness');
  return sharp.length > 0 ? sharp[sharp.length - 1]!.value : Number.NaN;
}

/**
 * Runs the grid, then settles every completed run at one η_s per seed: settle.lr_multiple·2/λ_max,
 * λ_max the largest final λ1(H) among that seed's completed runs (GD at η_s is stable from every one).
 */
export async function executeAdamClipped(ctx: StudyContext): Promise<StudyRun[]> {
  const runs = await runStudySweep(ctx);
  const done = runs.filter((r) => r.summary.status === 'completed' && Number.isFinite(finalSharpness(r)));
  const lambdaMax = new Map<number, number>();
  for (const r of done) {
    const seed = r.config.train.seed;
    lambdaMax.set(seed, Math.max(lambdaMax.get(seed) ?? 0, finalSharpness(r)));
  }
  await settleCompletedRuns(ctx, done, (r) => lambdaMax.get(r.config.train.seed)!);
  return runs;
}

/** Whether two runs' train-loss curves agree to `rel` (the clip never bound). */
export function sameCurve(a: StudyRun, b: StudyRun, rel = 1e-6): boolean {
  const x = lossPoints(a.rows);
  const y = lossPoints(b.rows);
  if (x.length !== y.length || x.length === 0) return false;
  return x.every(
    (p, i) => p.step === y[i]!.step && Math.abs(p.value - y[i]!.value) <= rel * Math.max(Math.abs(p.value), 1e-12),
  );
}

/**
 * A cell's verdict and text from the paired differences d (capped − reference) across seeds
 * (judgePaired: held at sign-flip p < 0.05 with the claimed sign and |mean| ≥ margin; did not
 * hold at p < 0.05 the other way or, with a margin, when TOST puts the effect within ±margin).
 * Diverged capped runs: 'against' → did not hold; 'for' (an instability) → each enters the test
 * as a difference of the claimed sign as large as the largest observed |d| (1 if none), so a
 * divergence never counts for more than the strongest completed seed.
 */
function cellVerdict(
  d: number[],
  direction: 'positive' | 'negative',
  divergedCounts: 'for' | 'against',
  diverged: number,
  f: (x: number) => string,
  margin = 0,
): { v: Verdict; text: string } {
  if (diverged > 0 && divergedCounts === 'against')
    return { v: 'did not hold', text: d.length ? judgePaired(d, direction, f).text : 'n/a' };
  let all = d;
  let entered = '';
  if (diverged > 0) {
    const big = (direction === 'positive' ? 1 : -1) * (Math.max(0, ...d.map(Math.abs)) || 1);
    all = [...d, ...Array.from({ length: diverged }, () => big)];
    // Say what the interval and p are made of: a divergence enters as a difference, not a measurement.
    const what =
      diverged === 1 ? `1 diverged run entered as ${f(big)}` : `${diverged} diverged runs entered as ${f(big)} each`;
    entered = ` (${what}, ${d.length > 0 ? 'the largest completed |difference|' : 'no completed pair to scale by'})`;
  }
  if (all.length === 0) return { v: 'inconclusive', text: 'n/a' };
  const j = judgePaired(all, direction, f, margin > 0 ? { margin, minEffect: margin } : {});
  return { v: j.verdict, text: `${j.text}${entered}` };
}

/** Over the judged cells: held if all hold, did not hold if none holds and one fails, else inconclusive. */
function overall(vs: readonly Verdict[]): Verdict {
  if (vs.length === 0) return 'inconclusive';
  if (vs.every((v) => v === 'held')) return 'held';
  if (!vs.includes('held') && vs.includes('did not hold')) return 'did not hold';
  return 'inconclusive';
}

export function evaluateAdamClipped(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = tolerancesOf(ADAM_CLIPPED_TOLERANCES, ctx.tolerances);
  const spikeRel = tol(t, 'spike_rel');
  const accTie = tol(t, 'acc_tie');
  const sgd = runs
    .filter(
      (r) =>
        r.summary.status === 'completed' && (r.config.optimizer.name === 'sgd' || r.config.optimizer.name === 'gd'),
    )
    .map((r) => stats(r, spikeRel));
  const sgdNote =
    sgd.length > 0
      ? ` Shown alongside: ${sgd.map((s) => `${s.r.config.optimizer.name.toUpperCase()} η = ${fmt(s.r.config.optimizer.lr)}, seed ${s.r.config.train.seed}: ${s.spikes} spikes, final λ1 ${fmt(s.finalSharp)}, test ${fmt(100 * s.testAcc)} %`).join('; ')}.`
      : '';
  const out: ClaimResult[] = [];
  const key = (x: number) => x.toPrecision(6);
  for (const [family, clipped] of [
    ['adam', 'adam-ub'],
    ['rmsprop', 'rmsprop-ub'],
  ] as const) {
    const mine = runs.filter((r) => r.config.optimizer.name === clipped);
    const isRef = (r: StudyRun) => (r.config.optimizer.clip_denominator ?? 0) >= NO_CAP;
    const refs = mine.filter(isRef);
    const capped = mine.filter((r) => !isRef(r));
    const plain = runs
      .filter((r) => r.config.optimizer.name === family && r.summary.status === 'completed')
      .map((r) => stats(r, spikeRel));
    const plainNote =
      plain.length > 0
        ? ` ${family} itself (no bias correction for rmsprop; not the reference): ${plain.map((s) => `η ${fmt(s.r.config.optimizer.lr)}, seed ${s.r.config.train.seed}: ${s.spikes} spikes, final λ1 ${fmt(s.finalSharp)}, test ${fmt(100 * s.testAcc)} %`).join('; ')}.`
        : '';
    const claims = [
      `${clipped} shows more instabilities than ${family} (loss spikes and time with λ1(P⁻¹H) above its threshold, vs the uncapped ${clipped})`,
      `${clipped} ends flatter than ${family} (λ1(H) after settling, vs the uncapped ${clipped})`,
      `${clipped} generalizes better than ${family} (final test accuracy, vs the uncapped ${clipped})`,
    ];
    if (refs.length === 0 || capped.length === 0) {
      for (const claim of claims)
        out.push({
          claim,
          evidence: `missing runs (uncapped ${clipped} c ≥ ${fmt(NO_CAP)}: ${refs.length}, capped: ${capped.length}).`,
          verdict: 'inconclusive',
        });
      continue;
    }
    // Cells (c, η), each a list of (capped, reference) pairs by seed.
    const cells = new Map<string, { c: number; lr: number; pairs: { cap: StudyRun; ref: StudyRun | undefined }[] }>();
    for (const r of capped) {
      const c = r.config.optimizer.clip_denominator!;
      const lr = r.config.optimizer.lr;
      const k = `${key(c)}|${key(lr)}`;
      if (!cells.has(k)) cells.set(k, { c, lr, pairs: [] });
      cells.get(k)!.pairs.push({
        cap: r,
        ref: refs.find((x) => key(x.config.optimizer.lr) === key(lr) && x.config.train.seed === r.config.train.seed),
      });
    }
    const rows: string[][] = [[], [], []];
    const verdicts: Verdict[][] = [[], [], []];
    const values: Record<string, number | string | null>[] = [{}, {}, {}];
    for (const cell of [...cells.values()].sort((a, b) => a.lr - b.lr || a.c - b.c)) {
      const tag = `c = ${fmt(cell.c)}, η = ${fmt(cell.lr)}`;
      const usable = cell.pairs.filter((p) => p.ref !== undefined && p.ref.summary.status === 'completed');
      const noRef = cell.pairs.length - usable.length;
      const div = usable.filter((p) => p.cap.summary.status === 'diverged');
      const done = usable.filter((p) => p.cap.summary.status === 'completed');
      if (usable.length === 0) {
        for (let i = 0; i < 3; i++) rows[i]!.push(`${tag}: no completed uncapped reference at this η and seed`);
        continue;
      }
      if (div.length === 0 && done.length > 0 && done.every((p) => sameCurve(p.cap, p.ref!))) {
        for (let i = 0; i < 3; i++)
          rows[i]!.push(`${tag}: same curve as the uncapped reference at every seed (the cap never bound; not judged)`);
        continue;
      }
      const S = done.map((p) => ({ a: stats(p.cap, spikeRel), b: stats(p.ref!, spikeRel) }));
      const dSpikes = S.map((x) => x.a.spikes - x.b.spikes);
      const dAbove = S.map((x) => x.a.above - x.b.above).filter(Number.isFinite);
      const dSharp = S.map((x) => x.a.settled - x.b.settled).filter(Number.isFinite);
      const dRaw = S.map((x) => x.a.finalSharp - x.b.finalSharp).filter(Number.isFinite);
      const dAcc = S.map((x) => x.a.testAcc - x.b.testAcc).filter(Number.isFinite);
      const extra = `${div.length > 0 ? `; ${div.length} of ${usable.length} capped runs diverged` : ''}${noRef > 0 ? `; ${noRef} without a completed reference` : ''}`;
      const c1s = cellVerdict(dSpikes, 'positive', 'for', div.length, fmt);
      const c1a = cellVerdict(dAbove, 'positive', 'for', div.length, fmt);
      const v1s = c1s.v;
      const v1a = c1a.v;
      const v1: Verdict =
        v1s === 'held' && v1a === 'held'
          ? 'held'
          : v1s === 'did not hold' || v1a === 'did not hold'
            ? 'did not hold'
            : 'inconclusive';
      const c2 = cellVerdict(dSharp, 'negative', 'against', div.length, fmt);
      const c3 = cellVerdict(
        dAcc.map((x) => 100 * x),
        'positive',
        'against',
        div.length,
        fmt,
        100 * accTie,
      );
      const v2 = c2.v;
      const v3 = c3.v;
      verdicts[0]!.push(v1);
      verdicts[1]!.push(v2);
      verdicts[2]!.push(v3);
      rows[0]!.push(
        `${tag}: Δspikes ${c1s.text}; Δ(fraction of time above the threshold) ${c1a.text} (reference: ${fmt(mean(S.map((x) => x.b.spikes)))} spikes, ${fmt(mean(S.map((x) => x.b.above)))} of the time above)${extra} → ${v1}`,
      );
      rows[1]!.push(
        `${tag}: Δ settled λ1(H) ${c2.text} (reference ${fmt(mean(S.map((x) => x.b.settled)))}; ${dSharp.length} of ${S.length} pairs settled; raw final λ1(H) Δ ${fmt(mean(dRaw))}, reference ${fmt(mean(S.map((x) => x.b.finalSharp)))})${extra} → ${v2}`,
      );
      rows[2]!.push(
        `${tag}: Δ test accuracy ${c3.text} points (reference ${fmt(100 * mean(S.map((x) => x.b.testAcc)))} %; better = more than ${fmt(100 * accTie)} points)${extra} → ${v3}`,
      );
      values[0]![`spikes_diff_${tag}`] = dSpikes.length ? mean(dSpikes) : null;
      values[0]![`above_diff_${tag}`] = dAbove.length ? mean(dAbove) : null;
      values[1]![`sharpness_diff_${tag}`] = dSharp.length ? mean(dSharp) : null;
      values[2]![`acc_diff_${tag}`] = dAcc.length ? mean(dAcc) : null;
    }
    for (let i = 0; i < 3; i++) {
      out.push({
        claim: claims[i]!,
        evidence: `paired by seed, capped − uncapped: mean [95 % t-interval], exact sign-flip p (held at p < 0.05 with the claimed sign): ${rows[i]!.join('; ')}.${plainNote}${sgdNote}`,
        verdict: overall(verdicts[i]!),
        values: {
          cells_judged: verdicts[i]!.length,
          cells_held: verdicts[i]!.filter((v) => v === 'held').length,
          ...values[i]!,
        },
      });
    }
  }
  return out;
}

/** One cell per cap and η (the uncapped reference labelled as such), ordered by η, then cap. */
function clipCell(r: StudyRun): { key: string; label: string; order: number } {
  const c = r.config.optimizer.clip_denominator ?? NO_CAP;
  const lr = r.config.optimizer.lr;
  // Short labels, so that the legend fits in two columns.
  const cap = c >= NO_CAP ? 'uncapped' : `c=${c}`;
  return { key: `${lr}|${c}`, label: `η=${lr} ${cap}`, order: lr * 1e12 + Math.min(c, NO_CAP) };
}

export function adamClippedFigures(runs: StudyRun[]): StudyFigure[] {
  const band = (what: string) =>
    `${what} The line is the median over seeds at each step, the band their minimum to maximum; a diverged run counts until it diverged.`;
  return present(
    (['adam-ub', 'rmsprop-ub'] as const).flatMap((fam) => {
      const mine = runs.filter((r) => r.config.optimizer.name === fam);
      const threshold = fam === 'adam-ub' ? '38/η' : '2/η';
      return [
        medianBandFigure(mine, {
          id: `${fam}-precond-ratio`,
          title: `${fam}: λ1(P⁻¹H) / ${threshold}`,
          caption: band(
            `Preconditioned sharpness over its threshold, P = diag(min(√v̂, c) + ε); dashed: 1 (the adaptive edge of stability).`,
          ),
          yTitle: 'ratio (log)',
          cell: clipCell,
          series: (r) => ratioSeries(r.rows, 'precond_sharpness'),
          logY: true,
          ruleY: 1,
        }),
        medianBandFigure(mine, {
          id: `${fam}-sharpness`,
          title: `${fam}: raw sharpness λ1(H)`,
          caption: band('Full-batch Hessian sharpness.'),
          yTitle: 'λ1(H) (log)',
          cell: clipCell,
          series: (r) => seriesOf(r.rows, 'sharpness'),
          logY: true,
        }),
      ];
    }),
  );
}

export const adamClipped: StudyDefinition = {
  name: 'adam-clipped',
  execute: executeAdamClipped,
  evaluate: evaluateAdamClipped,
  figures: (runs) => adamClippedFigures(runs),
};
