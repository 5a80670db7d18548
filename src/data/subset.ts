/**
 * Choosing which samples of a split to keep: the first N in file order, or a seeded stratified
 * draw with equal counts per class as far as the classes allow.
 */
import type { Rng } from '../util/random.ts';
import type { SubsetMode } from './types.ts';

/**
 * Samples per class for a stratified draw of `size` from classes with `available` samples:
 * every class gets min(available, L) for the largest level L that fits, and the r < (#classes
 * still above L) leftover samples go one each to classes chosen by `rng`.
 */
export function stratifiedQuotas(available: readonly number[], size: number, rng: Rng): number[] {
  const total = available.reduce((a, b) => a + b, 0);
  if (!Number.isInteger(size) || size < 0 || size > total)
    throw new Error(`stratified subset: size ${size} is outside 0..${total}`);
  const fill = (level: number): number => available.reduce((s, a) => s + Math.min(a, level), 0);
  let lo = 0;
  let hi = Math.max(0, ...available);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fill(mid) <= size) lo = mid;
    else hi = mid - 1;
  }
  const quotas = available.map((a) => Math.min(a, lo));
  let leftover = size - fill(lo);
  const open = available.map((a, c) => (a > lo ? c : -1)).filter((c) => c >= 0);
  // Seeded Fisher–Yates over the classes that can take one more.
  for (let i = open.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [open[i], open[j]] = [open[j], open[i]];
  }
  for (let t = 0; leftover > 0; t++, leftover--) quotas[open[t]]++;
  return quotas;
}

/**
 * Indices of the samples to keep, ascending (so a subset keeps the file's order).
 * 'first': 0..size-1. 'stratified': per class, a seeded random choice of stratifiedQuotas.
 */
export function selectSubset(
  labels: ArrayLike<number>,
  numClasses: number,
  size: number,
  mode: SubsetMode,
  rng: Rng,
): Int32Array {
  const n = labels.length;
  if (!Number.isInteger(size) || size < 0 || size > n) throw new Error(`subset size ${size} is outside 0..${n}`);
  if (mode === 'first') {
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) out[i] = i;
    return out;
  }
  if (mode !== 'stratified') throw new Error(`subset must be one of first, stratified; got ${String(mode)}`);
  const members: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < numClasses))
      throw new Error(`stratified subset: label ${c} at index ${i} is outside [0, ${numClasses})`);
    members[c].push(i);
  }
  const quotas = stratifiedQuotas(
    members.map((m) => m.length),
    size,
    rng,
  );
  const chosen: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const m = members[c];
    const q = quotas[c];
    // Partial Fisher–Yates: the first q entries become a uniform random q-subset.
    for (let i = 0; i < q; i++) {
      const j = i + rng.int(m.length - i);
      [m[i], m[j]] = [m[j], m[i]];
      chosen.push(m[i]);
    }
  }
  return Int32Array.from(chosen).sort();
}
