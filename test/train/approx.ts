// Shared test helper: a closeness assertion that always carries its own message (node's
// generated messages for a bare assert.ok re-parse the source, which is slow under tsx).
import assert from 'node:assert/strict';

/** Asserts |actual − expected| <= tol · max(floor, |expected|). */
export function assertClose(actual: number, expected: number, tol: number, label: string, floor = 0): void {
  const err = Math.abs(actual - expected);
  assert.ok(
    err <= tol * Math.max(floor, Math.abs(expected)),
    `${label}: got ${actual}, expected ${expected} (err ${err})`,
  );
}
