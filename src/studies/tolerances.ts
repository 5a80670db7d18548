/**
 * The tolerance names each study's evaluator reads: the one list that both the evaluator's typed
 * view of `ctx.tolerances` (reading a name not in it is a type error) and the study-file schema
 * (any other key in `tolerances:` or `quick_tolerances:` is rejected) are built from.
 *
 * The tuples live here rather than in the study modules because several of those import run.ts,
 * which imports schema.ts: schema.ts reading a tuple from a study module would form a cycle in
 * which the tuple is not yet initialised when that study module is the entry point.
 */

export const ADAM_CLIPPED_TOLERANCES = ['spike_rel', 'acc_tie'] as const;

export const ADAM_WARMUP_TOLERANCES = ['min_lr_gain', 'early_ratio_margin', 'no_need_margin'] as const;

export const CATAPULT_TOLERANCES = ['spike_factor', 'spike_window', 'no_spike', 'final_ratio'] as const;

/** What eos-gd's and eos-adam's shared hovering claim (eos-gd.ts, hoverClaim) reads. */
export const DEPTH_ROTATION_TOLERANCES = ['gap_min', 'rho_noise', 'const_tol', 'spearman_min'] as const;

export const EOS_HOVER_TOLERANCES = [
  'reach_fraction',
  'ratio_lo',
  'ratio_hi',
  'ratio_iqr_max',
  'min_hover_points',
] as const;

/** What eos-gd's sharpening and loss claims (eos-gd.ts) read besides the hovering claim's. */
export const EOS_GD_ONLY_TOLERANCES = [
  'sharpening_min_rise',
  'min_loss_increases',
  'loss_window',
  'ce_loss_window',
  'ce_saturation_acc',
] as const;

export const EOS_GD_TOLERANCES = [...EOS_HOVER_TOLERANCES, ...EOS_GD_ONLY_TOLERANCES] as const;

export const EOS_ADAM_TOLERANCES = [...EOS_HOVER_TOLERANCES, 'raw_ratio_max'] as const;

export const FLATNESS_LR_TOLERANCES = [
  'ratio_lo',
  'ratio_hi',
  'spearman_min',
  'acc_gain_min',
  'corr_min',
  'acc_below_multiple',
  'acc_above_multiple',
  'edge_reach',
] as const;

export const INTERVENTIONS_TOLERANCES = [
  'min_lr_gain',
  'early_ratio_drop',
  'as_effective_factor',
  'acc_gain_min',
] as const;

export const ROTATION_TOLERANCES = [
  'rho_stable_q05',
  'rho_drop',
  'spike_rel',
  'coincidence_window',
  'coincidence_min',
  'spearman_min',
  'gap_min',
  'p_max',
  'match_window',
  'after_steps',
] as const;

export const SGD_BATCH_TOLERANCES = ['flatter_min', 'gap_min'] as const;

export const TOY_DEPTH_TOLERANCES = [
  'fixed_rho_min',
  'rotation_gap',
  'converge_loss',
  'rotation_min_deg',
  'unstable_rotation_share',
] as const;

export const WARMUP_TOLERANCES = ['min_lr_gain', 'early_ratio_drop'] as const;

/** Each shipped study's tolerance names, by study name (studies/NAME.yaml). */
export const STUDY_TOLERANCES = {
  'adam-clipped': ADAM_CLIPPED_TOLERANCES,
  'adam-warmup': ADAM_WARMUP_TOLERANCES,
  catapult: CATAPULT_TOLERANCES,
  'depth-rotation': DEPTH_ROTATION_TOLERANCES,
  'eos-adam': EOS_ADAM_TOLERANCES,
  'eos-gd': EOS_GD_TOLERANCES,
  'flatness-lr': FLATNESS_LR_TOLERANCES,
  interventions: INTERVENTIONS_TOLERANCES,
  'interventions-resnet': INTERVENTIONS_TOLERANCES,
  rotation: ROTATION_TOLERANCES,
  'sgd-batch': SGD_BATCH_TOLERANCES,
  'toy-depth': TOY_DEPTH_TOLERANCES,
  warmup: WARMUP_TOLERANCES,
  'warmup-resnet': WARMUP_TOLERANCES,
} as const satisfies Readonly<Record<string, readonly string[]>>;

/** A shipped study's name. */
export type StudyName = keyof typeof STUDY_TOLERANCES;

/**
 * A study's tolerances as its evaluator sees them: one property per declared name, undefined when
 * the file does not set it. Every property is required (though possibly undefined) so that a view
 * over fewer names cannot be passed where one over more is expected; the `number | undefined`
 * keeps it apart from a plain record in `tol`'s overloads.
 */
export type Tolerances<N extends string> = { readonly [K in N]: number | undefined };

/** The typed view of `values` over `names` (other keys of `values` are left out). */
export function tolerancesOf<const N extends string>(
  names: readonly N[],
  values: Readonly<Record<string, number>>,
): Tolerances<N> {
  return Object.fromEntries(names.map((n) => [n, values[n]])) as Tolerances<N>;
}
