/**
 * `adam-clipped`: Adam and RMSProp against their clipped-denominator variants adam-ub and
 * rmsprop-ub, θ ← θ − η·m̂/(min(√v̂, c) + ε) (rmsprop-ub: β1 = 0), at several c, and against SGD.
 * "Restoring instabilities" (Wang & Roberts): capping the denominator keeps the effective step at
 * least η/c in every coordinate. Per family (adam, rmsprop), each clipped variant is compared
 * with the unclipped run:
 *   1. more instabilities: at least as many loss spikes (epoch-to-epoch rises of the full train
 *      loss by more than spike_rel) and a larger maximal excursion of λ1(P⁻¹H)/threshold, one of
 *      them strictly larger;
 *   2. ends flatter: lower final raw sharpness λ1(H);
 *   3. generalizes better: higher final test accuracy (by more than acc_tie).
 * Verdicts over the caps that bound (a clipped run whose loss curve equals the unclipped
 * reference's never hit its cap: it is listed, not judged): held when every such c shows it, did
 * not hold when none does, inconclusive when mixed or when no cap bound.
 */
import type { ClaimResult, StudyContext, StudyDefinition, StudyFigure, StudyRun } from './study.ts';
import { fmt, increaseSteps, lossPoints, ratioSeries, seriesOf, tol } from './measures.ts';
import { perRunFigure, present } from './figures.ts';

/** A cap at least this large never binds (√v̂ of a trainable run is far below it): the unclipped reference. */
export const NO_CAP = 1e6;

export function optLabel(r: StudyRun): string {
  const o = r.config.optimizer;
  return o.clip_denominator !== null && (o.name === 'adam-ub' || o.name === 'rmsprop-ub') ? `${o.name} c = ${fmt(o.clip_denominator)}` : `${o.name}, η = ${fmt(o.lr)}`;
}

interface OptStats {
  r: StudyRun;
  spikes: number;
  excursion: number;
  finalSharp: number;
  testAcc: number;
}

function stats(r: StudyRun, spikeRel: number): OptStats {
  const sharp = seriesOf(r.rows, 'sharpness');
  const pre = ratioSeries(r.rows, 'precond_sharpness');
  const raw = ratioSeries(r.rows, 'sharpness');
  const useful = pre.length > 0 ? pre : raw;
  return {
    r,
    spikes: increaseSteps(lossPoints(r.rows), spikeRel).length,
    excursion: useful.length > 0 ? Math.max(...useful.map((p) => p.value)) : Number.NaN,
    finalSharp: sharp.length > 0 ? sharp[sharp.length - 1]!.value : Number.NaN,
    testAcc: r.summary.final.test_acc ?? Number.NaN,
  };
}

/** Whether two runs' train-loss curves agree to `rel` (the clip never bound). */
export function sameCurve(a: StudyRun, b: StudyRun, rel = 1e-6): boolean {
  const x = lossPoints(a.rows);
  const y = lossPoints(b.rows);
  if (x.length !== y.length || x.length === 0) return false;
  return x.every((p, i) => p.step === y[i]!.step && Math.abs(p.value - y[i]!.value) <= rel * Math.max(Math.abs(p.value), 1e-12));
}

export function evaluateAdamClipped(runs: StudyRun[], ctx: Pick<StudyContext, 'tolerances'>): ClaimResult[] {
  const t = ctx.tolerances;
  const spikeRel = tol(t, 'spike_rel');
  const accTie = tol(t, 'acc_tie');
  const done = runs.filter((r) => r.summary.status === 'completed');
  const sgd = done.filter((r) => r.config.optimizer.name === 'sgd' || r.config.optimizer.name === 'gd').map((r) => stats(r, spikeRel));
  const sgdNote = sgd.length > 0 ? ` SGD: ${sgd.map((s) => `${s.spikes} spikes, final λ1 ${fmt(s.finalSharp)}, test ${fmt(100 * s.testAcc)} %`).join('; ')}.` : '';
  const out: ClaimResult[] = [];
  for (const [family, clipped] of [['adam', 'adam-ub'], ['rmsprop', 'rmsprop-ub']] as const) {
    // The unclipped reference: the clipped optimizer with a cap that cannot bind (c ≥ NO_CAP), if
    // the study has one — rmsprop-ub bias-corrects v like Adam while PyTorch's RMSProp does not, so
    // only that run isolates the cap — else the family's own optimizer.
    const all = done.filter((r) => r.config.optimizer.name === clipped).sort((a, b) => (a.config.optimizer.clip_denominator ?? 0) - (b.config.optimizer.clip_denominator ?? 0));
    const uncapped = all.find((r) => (r.config.optimizer.clip_denominator ?? 0) >= NO_CAP);
    const plain = done.find((r) => r.config.optimizer.name === family);
    const base = uncapped ?? plain;
    const baseName = uncapped ? `${clipped} without a cap (c = ${fmt(uncapped.config.optimizer.clip_denominator)})` : family;
    const variants = all.filter((r) => r !== uncapped);
    const failed = runs.filter((r) => (r.config.optimizer.name === clipped || r.config.optimizer.name === family) && r.summary.status !== 'completed');
    const failNote = failed.length > 0 ? ` Not completed: ${failed.map((r) => `${optLabel(r)} (${r.summary.status})`).join(', ')}.` : '';
    const claims = [
      `${clipped} shows more instabilities than ${family} (loss spikes, larger λ1(P⁻¹H) excursions)`,
      `${clipped} ends flatter than ${family}`,
      `${clipped} generalizes better than ${family}`,
    ];
    const ps = plain ? stats(plain, spikeRel) : null;
    const plainNote = uncapped && ps ? ` ${family} itself: ${ps.spikes} spikes, max ${fmt(ps.excursion)}, final λ1 ${fmt(ps.finalSharp)}, test ${fmt(100 * ps.testAcc)} %.` : '';
    if (!base || variants.length === 0) {
      for (const claim of claims) out.push({ claim, evidence: `missing runs (${family}: ${base ? 'ok' : 'none'}, ${clipped}: ${variants.length}).${failNote}`, verdict: 'inconclusive' });
      continue;
    }
    const b = stats(base, spikeRel);
    const vs = variants.map((r) => ({ ...stats(r, spikeRel), c: r.config.optimizer.clip_denominator!, same: sameCurve(r, base) }));
    const tag = (v: (typeof vs)[number]) => `c = ${fmt(v.c)}${v.same ? ' (same curve as unclipped: the cap never bound)' : ''}`;
    // Only caps that bound somewhere can show an effect of the cap; the others are listed, not judged.
    const judge = (ok: boolean[]) => {
      const j = ok.filter((_, i) => !vs[i]!.same);
      return (j.length === 0 ? 'inconclusive' : j.every(Boolean) ? 'held' : j.some(Boolean) ? 'inconclusive' : 'did not hold') as ClaimResult['verdict'];
    };
    const more = vs.map((v) => v.spikes >= b.spikes && v.excursion >= b.excursion && (v.spikes > b.spikes || v.excursion > b.excursion));
    out.push({
      claim: claims[0]!,
      evidence: `${baseName}: ${b.spikes} spikes, max λ1(P⁻¹H)/threshold ${fmt(b.excursion)}; ${vs.map((v) => `${tag(v)}: ${v.spikes} spikes, max ${fmt(v.excursion)}`).join('; ')}.${plainNote}${sgdNote}${failNote}`,
      verdict: judge(more),
      values: Object.fromEntries(vs.flatMap((v) => [[`spikes_c${v.c}`, v.spikes], [`excursion_c${v.c}`, v.excursion]])),
    });
    const flatter = vs.map((v) => v.finalSharp < b.finalSharp);
    out.push({
      claim: claims[1]!,
      evidence: `final λ1(H): ${baseName} ${fmt(b.finalSharp)}; ${vs.map((v) => `${tag(v)}: ${fmt(v.finalSharp)}`).join('; ')}.${plainNote}${sgdNote}${failNote}`,
      verdict: judge(flatter),
      values: Object.fromEntries(vs.map((v) => [`final_sharpness_c${v.c}`, v.finalSharp])),
    });
    const better = vs.map((v) => v.testAcc > b.testAcc + accTie);
    out.push({
      claim: claims[2]!,
      evidence: `final test accuracy: ${baseName} ${fmt(100 * b.testAcc)} %; ${vs.map((v) => `${tag(v)}: ${fmt(100 * v.testAcc)} %`).join('; ')} (better = more than ${fmt(100 * accTie)} points higher).${plainNote}${sgdNote}${failNote}`,
      verdict: judge(better),
      values: Object.fromEntries(vs.map((v) => [`test_acc_c${v.c}`, v.testAcc])),
    });
  }
  return out;
}

export function adamClippedFigures(runs: StudyRun[]): StudyFigure[] {
  return present([
    perRunFigure(runs, { id: 'precond-ratio', title: 'λ1(P⁻¹H) / threshold', caption: 'Preconditioned sharpness over (2+2β1)/((1−β1)η) (RMSProp: 2/η); dashed: 1.', key: 'precond_sharpness', yTitle: 'ratio', label: optLabel, ruleY: 1, ratioTo: 'threshold', logY: true }),
    perRunFigure(runs, { id: 'sharpness', title: 'Raw sharpness λ1(H)', caption: 'Full-batch Hessian sharpness of every run.', key: 'sharpness', yTitle: 'λ1(H)', label: optLabel, logY: true }),
    perRunFigure(runs, { id: 'train-loss', title: 'Train loss', caption: 'Full training-set loss at every logged step.', key: 'train_loss', yTitle: 'train loss (log)', label: optLabel, logY: true }),
    perRunFigure(runs, { id: 'test-acc', title: 'Test accuracy', caption: 'Test accuracy during training.', key: 'test_acc', yTitle: 'test accuracy', label: optLabel }),
  ]);
}

export const adamClipped: StudyDefinition = {
  name: 'adam-clipped',
  evaluate: evaluateAdamClipped,
  figures: (runs) => adamClippedFigures(runs),
};
