/**
 * Studies: named, reproducible experiments (`edgewise reproduce NAME`). A study is a sweep
 * file in studies/ (base config + grid, a `quick:` reduction, the claims' tolerances and the
 * expected run time) plus an evaluator that computes the claims table — claim, measured
 * evidence, verdict — from the finished runs. Verdicts are computed, never written by hand.
 */
import type { Config } from '../experiments/config.ts';
import type { RunSummary } from '../experiments/runStore.ts';
import type { MetricRow } from '../experiments/metrics.ts';

export type Verdict = 'held' | 'did not hold' | 'inconclusive';

export interface ClaimResult {
  /** The claim, as the literature states it. */
  claim: string;
  /** What was measured, with the numbers. */
  evidence: string;
  verdict: Verdict;
  /** The numbers behind the verdict (for claims.json and tests). */
  values?: Record<string, number | string | boolean | null>;
}

/** One finished run of a study. */
export interface StudyRun {
  name: string;
  /** The run's grid values (dotted key → value). */
  params: Readonly<Record<string, unknown>>;
  dir: string;
  config: Config;
  summary: RunSummary;
  rows: MetricRow[];
}

/** A study file (studies/NAME.yaml), as parsed and checked by src/studies/schema.ts (its study's sections ride along). */
export interface StudyFile {
  name: string;
  title: string;
  description?: string;
  /** Minutes on this project's 2-core machines, for the full and the quick version. */
  expected_minutes: { full: number; quick: number };
  base: Record<string, unknown>;
  grid: Record<string, unknown[]>;
  /**
   * Replacements for --quick: `base` keys are merged over base, `grid` keys replace grid entries,
   * `variants` (if given) replaces the variant list.
   */
  quick?: { base?: Record<string, unknown>; grid?: Record<string, unknown[]>; variants?: StudyVariant[] };
  /**
   * Further sub-sweeps run along with base × grid (e.g. cross-entropy at its own learning rates):
   * each merges its `base` over the study's (quick-reduced) base and expands its own `grid`.
   */
  variants?: StudyVariant[];
  /** Tolerances the claims are judged with (study-specific names). */
  tolerances: Record<string, number>;
  /** Tolerances used instead under --quick. */
  quick_tolerances?: Record<string, number>;
}

/** A sub-sweep of a study; its runs are named `<name>_<grid values>`. */
export interface StudyVariant {
  name: string;
  base?: Record<string, unknown>;
  grid: Record<string, unknown[]>;
}

export interface StudyContext {
  quick: boolean;
  tolerances: Record<string, number>;
  file: StudyFile;
  /** The study's output directory (runs are sub-directories). */
  out: string;
  log: (line: string) => void;
  parallel: number;
  /** Run only this shard of a grid study's runs (sweep runner sharding); null/absent = all. */
  shard?: { readonly index: number; readonly count: number } | null;
}

export interface StudyDefinition {
  /** Matches studies/NAME.yaml. */
  name: string;
  /** Computes the claims table from the finished runs. */
  evaluate(runs: StudyRun[], ctx: StudyContext): ClaimResult[] | Promise<ClaimResult[]>;
  /**
   * Runs that are not network configs (e.g. a two-parameter toy model) can be produced by the
   * study itself; default: the sweep's runs by `edgewise train` child processes.
   */
  execute?(ctx: StudyContext): Promise<StudyRun[]>;
  /**
   * Study-specific figures (Vega-Lite specs, e.g. from src/report/spec.ts builders) shown in the
   * report right after the claims table; default: none (the sweep report's figures only).
   */
  figures?(runs: StudyRun[], ctx: StudyContext): StudyFigure[] | Promise<StudyFigure[]>;
}

/** A figure of a study report: a file-name-safe id, a title and caption, and a Vega-Lite spec. */
export interface StudyFigure {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  /** A Vega-Lite top-level spec (src/report/spec.ts's VlSpec). */
  readonly spec: unknown;
}
