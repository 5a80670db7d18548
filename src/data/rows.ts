/**
 * Row operations on a `Dataset`: one-hot targets, gathering rows for a minibatch, contiguous
 * chunks, class counts. They copy, so the result never aliases the source.
 */
import type { Dataset } from './types.ts';

/** Number of floats in one sample (product of sampleShape). */
export function sampleSize(ds: Pick<Dataset, 'sampleShape'>): number {
  let s = 1;
  for (const d of ds.sampleShape) s *= d;
  return s;
}

/** Checks a dataset's arrays agree with n, sampleShape and numClasses; throws naming the field. */
export function checkDataset(ds: Dataset): Dataset {
  const where = 'dataset';
  if (!Number.isInteger(ds.n) || ds.n < 0) throw new Error(`${where}: n must be an integer ≥ 0, got ${ds.n}`);
  for (const d of ds.sampleShape) {
    if (!Number.isInteger(d) || d < 1)
      throw new Error(`${where}: sampleShape must be positive integers, got [${ds.sampleShape.join(', ')}]`);
  }
  const size = sampleSize(ds);
  if (ds.x.length !== ds.n * size) {
    throw new Error(`${where}: x has ${ds.x.length} floats, expected n*prod(sampleShape) = ${ds.n}*${size}`);
  }
  if ((ds.y === null) === (ds.targets === null)) {
    throw new Error(`${where}: exactly one of y (labels) and targets (regression) must be set`);
  }
  if (ds.y !== null) {
    if (ds.y.length !== ds.n) throw new Error(`${where}: y has ${ds.y.length} labels, expected n = ${ds.n}`);
    for (let i = 0; i < ds.n; i++) {
      const c = ds.y[i];
      if (c < 0 || c >= ds.numClasses)
        throw new Error(`${where}: label ${c} at row ${i} is outside [0, ${ds.numClasses})`);
    }
  }
  if (ds.targets !== null && ds.targets.length !== ds.n * ds.numClasses) {
    throw new Error(
      `${where}: targets has ${ds.targets.length} floats, expected n*numClasses = ${ds.n}*${ds.numClasses}`,
    );
  }
  return ds;
}

/** One-hot encoding: labels (n) → n * numClasses floats, row-major, 1 at each label. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const n = labels.length;
  const out = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new Error(`oneHot: label ${c} at index ${i} is outside [0, ${numClasses})`);
    }
    out[i * numClasses + c] = 1;
  }
  return out;
}

/** The rows `indices` of ds, in that order (repeats allowed): a minibatch. Copies. */
export function takeRows(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const size = sampleSize(ds);
  const m = indices.length;
  const x = new Float32Array(m * size);
  const y = ds.y === null ? null : new Int32Array(m);
  const k = ds.numClasses;
  const targets = ds.targets === null ? null : new Float32Array(m * k);
  for (let r = 0; r < m; r++) {
    const i = indices[r];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n)
      throw new Error(`takeRows: index ${i} at position ${r} is outside [0, ${ds.n})`);
    x.set(ds.x.subarray(i * size, (i + 1) * size), r * size);
    if (y !== null && ds.y !== null) y[r] = ds.y[i];
    if (targets !== null && ds.targets !== null) targets.set(ds.targets.subarray(i * k, (i + 1) * k), r * k);
  }
  return { x, y, targets, n: m, sampleShape: ds.sampleShape, numClasses: k };
}

/** Rows [start, end) of ds (end clamped to n), like Array.prototype.slice but no negatives. Copies. */
export function slice(ds: Dataset, start: number, end: number = ds.n): Dataset {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new Error(`slice: need integers 0 ≤ start ≤ end, got start=${start}, end=${end}`);
  }
  const s = Math.min(start, ds.n);
  const e = Math.min(end, ds.n);
  const size = sampleSize(ds);
  const k = ds.numClasses;
  return {
    x: ds.x.slice(s * size, e * size),
    y: ds.y === null ? null : ds.y.slice(s, e),
    targets: ds.targets === null ? null : ds.targets.slice(s * k, e * k),
    n: e - s,
    sampleShape: ds.sampleShape,
    numClasses: k,
  };
}

/** Count of each class label (length numClasses). */
export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < numClasses))
      throw new Error(`classCounts: label ${c} at index ${i} is outside [0, ${numClasses})`);
    counts[c]++;
  }
  return counts;
}
