/**
 * Follow-up cells: a comparison that a study's seeds left undecided is judged again on fresh
 * seeds, run only for the cells it compares (`follow_up:` in the study file). The seed count is
 * chosen beforehand, from a power analysis of the first look's effect and spread; the follow-up
 * is judged on its own seeds alone (no pooling with the first look) at a stricter level `alpha`,
 * so that the two looks together are a Bonferroni pair: with the first look undecided also at
 * `alpha`, the chance that either look gives a false verdict is at most 2·alpha. In a grid study
 * the follow-up runs are a variant sweep named `follow-up` (run.ts studySweeps); in a max-lr study
 * curve runs of kind `follow-up` (warmup.ts). Only the full version runs them.
 */
import type { StudyFile, StudyRun } from './study.ts';
import type { FollowUp } from './schema.ts';
import { seedRange } from './measures.ts';
import { judgePaired, type PairedJudgement } from './stats.ts';

/** The variant name (and run-name prefix) of the follow-up runs. */
export const FOLLOW_UP = 'follow-up' as const;

/** The study's follow-up (none under --quick, or where the file has none). */
export function followUpOf(f: StudyFile, quick: boolean): FollowUp | null {
  if (quick) return null;
  const fu = (f as StudyFile & { follow_up?: FollowUp }).follow_up;
  return fu ?? null;
}

/**
 * The follow-up's seeds (`train.seed` of its grid), checked fresh: integers ≥ 0, none of them in
 * `seen` (the seeds the study's own runs use). Throws an error naming the study file and key.
 */
export function freshSeeds(f: StudyFile, fu: FollowUp, seen: Iterable<number>): number[] {
  const at = `studies/${f.name}.yaml: follow_up.grid.train.seed`;
  const seeds = fu.grid['train.seed'] ?? [];
  if (seeds.length === 0 || !seeds.every((x) => Number.isInteger(x) && (x as number) >= 0))
    throw new Error(`${at}: must list fresh seeds (integers ≥ 0)`);
  const used = new Set(seen);
  const reused = (seeds as number[]).filter((x) => used.has(x));
  if (reused.length > 0)
    throw new Error(`${at} repeats the study's own seeds (${reused.join(', ')}): a follow-up needs fresh seeds`);
  return seeds as number[];
}

/** Checks a grid study's follow-up seeds against the seeds of its own grid (freshSeeds). */
export function checkFollowUpSeeds(f: StudyFile, fu: FollowUp): void {
  freshSeeds(f, fu, (f.grid['train.seed'] ?? []) as number[]);
}

/** Whether a run belongs to the follow-up: variant `follow-up` in a grid study, kind `follow-up` in a max-lr study. */
export const isFollowUp = (r: Pick<StudyRun, 'params'>): boolean =>
  r.params.variant === FOLLOW_UP || r.params.kind === FOLLOW_UP;

/** The study's own runs and the follow-up's. */
export function splitFollowUp<R extends Pick<StudyRun, 'params'>>(runs: readonly R[]): { main: R[]; followUp: R[] } {
  return { main: runs.filter((r) => !isFollowUp(r)), followUp: runs.filter(isFollowUp) };
}

/**
 * The follow-up's test level, for an evaluator given `runs` of which `followUp` are follow-up
 * runs: null when there are none; an error when there are some but the study file declares no
 * follow-up (its level is part of the design, never a default).
 */
export function followUpAlpha(
  ctx: { readonly file?: StudyFile; readonly quick?: boolean },
  followUp: readonly unknown[],
): number | null {
  if (followUp.length === 0) return null;
  const fu = ctx.file ? followUpOf(ctx.file, ctx.quick ?? false) : null;
  if (!fu) throw new Error(`${followUp.length} follow-up runs, but the study file declares no follow_up`);
  return fu.alpha;
}

/** `seeds 36–135` or `seeds 3, 5, 9` for the distinct seeds of `seeds`. */
export function seedsText(seeds: readonly number[]): string {
  const s = [...new Set(seeds)].sort((a, b) => a - b);
  return `seed${s.length === 1 ? '' : 's'} ${seedRange(s)}`;
}

/** The head of a follow-up's evidence: `Follow-up on fresh seeds 12–71 at α = 0.025`. */
export const followUpHead = (seeds: readonly number[], alpha: number): string =>
  `Follow-up on fresh ${seedsText(seeds)} at α = ${alpha}`;

/**
 * A follow-up that cannot be judged (a run that did not train, a seed without its pair): an empty
 * paired judgement, so inconclusive, and `why` after the head.
 */
export function unjudgedFollowUp(head: string, why: string): { j: PairedJudgement; text: string } {
  return { j: judgePaired([], 'positive', String), text: `${head}: ${why} → inconclusive` };
}

/** What claims.json records of the follow-up: its reason and level (nothing without one). */
export function followUpProvenance(f: StudyFile, quick: boolean): { follow_up?: { reason: string; alpha: number } } {
  const fu = followUpOf(f, quick);
  return fu ? { follow_up: { reason: fu.reason, alpha: fu.alpha } } : {};
}
