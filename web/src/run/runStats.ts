/** The run view's headline tiles: step, losses, accuracy, sharpness, its threshold and their ratio. */
import type { MetricRowView, ThresholdInfo } from '../../../src/server/types.ts';
import { stat } from '../components.ts';
import { fmt, num, pct } from '../format.ts';
import { thresholdAt } from './chartDefs.ts';

/** The latest value of `key` over `rows` (ascending steps), or null when no row has it. */
export function lastValue(rows: ReadonlyArray<Readonly<Record<string, unknown>>>, key: string): number | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const v = num(rows[i][key]);
    if (v !== null) return v;
  }
  return null;
}

/** The stat tiles for `rows` compared with `threshold`; `totalSteps` is the run's planned length, if known. */
export function runStats(
  rows: readonly MetricRowView[],
  threshold: ThresholdInfo | null,
  totalSteps: number | null,
): HTMLElement[] {
  const t = threshold;
  const pre = t?.quantity === 'preconditioned_sharpness';
  const last = rows[rows.length - 1];
  const lastWith = (k: string): number | null => lastValue(rows, k);
  const sharp = lastWith(pre ? 'precond_sharpness' : 'sharpness');
  const thr = last ? thresholdAt(last, t) : null;
  return [
    stat('Step', last ? String(last.step) : '–', totalSteps ? `of ${totalSteps}` : undefined, 'stat-step'),
    stat('Train loss', fmt(lastWith('train_loss')), `accuracy ${pct(lastWith('train_acc'))}`),
    stat('Test accuracy', pct(lastWith('test_acc')), `loss ${fmt(lastWith('test_loss'))}`),
    stat(
      pre ? 'Precond. sharpness' : 'Sharpness λ₁',
      fmt(sharp),
      pre ? 'λ₁(P⁻¹H)' : 'top Hessian eigenvalue',
      'stat-sharpness',
    ),
    stat(
      `Threshold ${t?.label ?? '2/η'}`,
      fmt(thr),
      last && num(last.lr) !== null ? `η = ${fmt(num(last.lr))}` : undefined,
    ),
    stat(
      'λ₁ ÷ threshold',
      sharp !== null && thr ? (sharp / thr).toFixed(2) : '–',
      sharp !== null && thr && sharp / thr > 0.9 ? 'at the edge of stability' : 'below the edge',
    ),
  ];
}
