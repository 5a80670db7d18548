/** Display formatting shared by figures, tables and messages. */

/** A learning rate η for display: 4 significant digits, no trailing zeros (0.03884380600124638 → "0.03884"). */
export function formatLr(lr: number): string {
  return Number.isFinite(lr) ? String(Number(lr.toPrecision(4))) : String(lr);
}
