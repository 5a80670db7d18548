/**
 * Studies: named, reproducible experiments (`edgewise reproduce NAME`). A study is a sweep
 * file in studies/ (base config + grid, a `quick:` reduction, the claims' tolerances and the
 * expected run time) plus an evaluator that computes the claims table — claim, measured
 * evidence, verdict — from the finished runs. Verdicts are computed, never written by hand.
 */
import type { Config } from '../experiments/config.ts';
import type { RunSummary } from '../experiments/runStore.ts';
import type { MetricRow } from '../experiments/metrics.ts';
import type { StudyFileCommon, StudyVariant } from './schema.ts';

export type Verdict = 'held' | 'did not hold' | 'inconclusive';

export interface ClaimResult {
  /** The claim, as the literature states it. */
  claim: string;
  /** What was measured, with the numbers. */
  evidence: string;
  verdict: Verdict;
  /** The numbers behind the verdict (for claims.json and tests). */
  values?: Record<string, number | string | boolean | null>;
  /**
   * Rows that are not claims of the papers, counted apart on the results page: 'run', a check of
   * one run (one seed) whose claim the study also judges across seeds in a row of its own;
   * 'design', a check that the study's cells can show the phenomenon (e.g. the sweep reaches
   * divergence).
   */
  scope?: 'run' | 'design';
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

/**
 * A study file (studies/NAME.yaml), as parsed and checked by src/studies/schema.ts: the common
 * keys' types come from the schema (their docs are there); a study's own sections ride along at
 * run time and are typed by the study (e.g. warmup.ts, MaxLrStudyFile).
 */
export type StudyFile = StudyFileCommon & { name: string };

export type { StudyVariant };

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
  /** Its runs involve no random choice (closed forms): no seeds to report or to vary. */
  deterministic?: boolean;
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
