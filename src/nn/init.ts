/**
 * Parameter initializers. Every draw comes from the given Rng, parameter by parameter in layout
 * (forward) order, so an initialization is reproducible bit for bit from its seed.
 *
 * Weights (dense [out, in], conv [O, C, kh, kw]; fans as PyTorch computes them):
 *   lecun-normal  N(0, 1/fan_in)            lecun-uniform  U(±√(3/fan_in))
 *   glorot-normal N(0, 2/(fan_in+fan_out))  glorot-uniform U(±√(6/(fan_in+fan_out)))
 *   he-normal     N(0, 2/fan_in)            he-uniform     U(±√(6/fan_in))
 * (plain, untruncated normals). Biases and norm shifts start at 0, norm scales at 1. `scale`
 * multiplies every weight; `zero_last` zeroes the output layer's weight.
 *
 * fixup (Zhang et al. 2019, residual nets without normalization): he-normal everywhere, except
 * that the last conv of each residual branch and the output layer are zero and the other
 * branch convs are multiplied by L^(−1/(2m−2)) (L residual branches, m layers per branch);
 * Fixup's scalar multipliers start at 1 and its scalar biases at 0.
 *
 * Fixup's reference code trains every bias (its scalar biases and the output layer's bias) and
 * its scalar multipliers at η/10 (`fixup_lr_scale`, default 0.1; `paramLrScale`).
 *
 * metainit / gradinit start from the seeded draw of `base` and then learn one scale per weight
 * tensor (metainit.ts, gradinit.ts). `base` defaults to the scheme of the network it replaces:
 * he-normal for ReLU networks, lecun-normal otherwise (`defaultBase`).
 */
import type { Rng } from '../util/random.ts';
import { size } from '../engine/ir.ts';
import type { BufferSpec, ModelParam } from './layers.ts';

/** Schemes that draw each weight independently from a fixed distribution. */
export const BASE_SCHEMES = [
  'lecun-normal',
  'lecun-uniform',
  'glorot-normal',
  'glorot-uniform',
  'he-normal',
  'he-uniform',
] as const;
export type BaseScheme = (typeof BASE_SCHEMES)[number];

/** Every `model.init.scheme`: the fixed-distribution ones, Fixup and the two learned ones. */
export const INIT_SCHEMES = [...BASE_SCHEMES, 'fixup', 'metainit', 'gradinit'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

/** The `model.init` config section. */
export interface InitConfig {
  readonly scheme: InitScheme;
  /** Multiplies every weight tensor after drawing (default 1). */
  readonly scale?: number;
  /** Zero the output layer's weight (default false). */
  readonly zero_last?: boolean;
  /** The distribution that metainit/gradinit start from (default: `defaultBase`). */
  readonly base?: BaseScheme;
  /** Fixup: learning-rate multiplier of the scalar biases, multipliers and output bias (default 0.1). */
  readonly fixup_lr_scale?: number;
}

/** Fixup reference's multiplier on η for biases and scalar multipliers (η/10). */
export const FIXUP_LR_SCALE = 0.1;

/** The base draw of metainit/gradinit when none is given: He for ReLU-family nets, else LeCun. */
export function defaultBase(activation: string): BaseScheme {
  return activation === 'relu' ? 'he-normal' : 'lecun-normal';
}

/**
 * Per-coordinate learning-rate multipliers (flat, layout order) for the optimizer's `lrScale`,
 * or null when every parameter trains at η. Fixup: biases (role fixup-bias or bias) and scalar
 * multipliers get `fixup_lr_scale`, the rest 1, as the reference's parameter groups.
 */
export function paramLrScale(model: Pick<Initializable, 'params'>, cfg: InitConfig): Float64Array | null {
  if (cfg.scheme !== 'fixup') return null;
  const m = cfg.fixup_lr_scale ?? FIXUP_LR_SCALE;
  if (!(Number.isFinite(m) && m >= 0)) throw new Error(`model.init.fixup_lr_scale must be a number ≥ 0, got ${m}`);
  const total = model.params.reduce((a, p) => a + size(p.shape), 0);
  const out = new Float64Array(total).fill(1);
  let off = 0;
  for (const p of model.params) {
    const n = size(p.shape);
    if (p.role === 'fixup-bias' || p.role === 'fixup-scale' || p.role === 'bias') out.fill(m, off, off + n);
    off += n;
  }
  return out;
}

/** What an initializer needs to know about a model. */
export interface Initializable {
  readonly params: readonly ModelParam[];
  readonly buffers: readonly BufferSpec[];
  /** Residual structure for Fixup: number of branches L and layers per branch m. */
  readonly residual: { readonly branches: number; readonly layersPerBranch: number };
}

export function isInitScheme(s: unknown): s is InitScheme {
  return typeof s === 'string' && (INIT_SCHEMES as readonly string[]).includes(s);
}

/** Standard deviation of a base scheme for given fans (uniform schemes: the same std). */
export function schemeStd(scheme: BaseScheme, fanIn: number, fanOut: number): number {
  switch (scheme) {
    case 'lecun-normal':
    case 'lecun-uniform':
      return Math.sqrt(1 / fanIn);
    case 'glorot-normal':
    case 'glorot-uniform':
      return Math.sqrt(2 / (fanIn + fanOut));
    case 'he-normal':
    case 'he-uniform':
      return Math.sqrt(2 / fanIn);
  }
}

/** n draws of a base scheme: N(0, std²) or U(−√3·std, √3·std) (same variance). */
export function drawWeights(rng: Rng, scheme: BaseScheme, n: number, fanIn: number, fanOut: number): Float64Array {
  const std = schemeStd(scheme, fanIn, fanOut);
  const out = new Float64Array(n);
  if (scheme.endsWith('-uniform')) {
    const lim = Math.sqrt(3) * std;
    for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * lim;
  } else {
    for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  }
  return out;
}

/** Fixup's multiplier for non-final branch layers: L^(−1/(2m−2)). */
export function fixupBranchScale(branches: number, layersPerBranch: number): number {
  if (layersPerBranch < 2) throw new Error('Fixup needs at least 2 layers per residual branch');
  return Math.pow(branches, -1 / (2 * layersPerBranch - 2));
}

/** A flat parameter vector (layout order) initialized by cfg, drawing from rng. */
export function initParams(model: Initializable, cfg: InitConfig, rng: Rng): Float64Array {
  if (!isInitScheme(cfg.scheme))
    throw new Error(`model.init.scheme: unknown scheme '${String(cfg.scheme)}'; allowed: ${INIT_SCHEMES.join(', ')}`);
  const scale = cfg.scale ?? 1;
  if (!Number.isFinite(scale)) throw new Error(`model.init.scale must be a finite number, got ${scale}`);
  const base: BaseScheme = cfg.base ?? 'lecun-normal';
  if (!(BASE_SCHEMES as readonly string[]).includes(base))
    throw new Error(`model.init.base: unknown scheme '${base}'; allowed: ${BASE_SCHEMES.join(', ')}`);
  const fixup = cfg.scheme === 'fixup';
  const hasFixupParams = model.params.some((p) => p.fixup !== undefined || p.role === 'fixup-scale');
  if (fixup && !hasFixupParams)
    throw new Error("model.init.scheme 'fixup' needs a residual network built for Fixup (arch: resnet, norm: none)");
  const branchScale = fixup ? fixupBranchScale(model.residual.branches, model.residual.layersPerBranch) : 1;
  const total = model.params.reduce((a, p) => a + size(p.shape), 0);
  const out = new Float64Array(total);
  let off = 0;
  for (const p of model.params) {
    const n = size(p.shape);
    const view = out.subarray(off, off + n);
    off += n;
    switch (p.role) {
      case 'bias':
      case 'norm-bias':
      case 'fixup-bias':
        break; // zeros
      case 'norm-weight':
      case 'fixup-scale':
        view.fill(1);
        break;
      case 'weight': {
        if ((fixup && (p.fixup === 'branch-last' || p.output)) || (cfg.zero_last && p.output)) break;
        const scheme: BaseScheme = fixup
          ? 'he-normal'
          : BASE_SCHEMES.includes(cfg.scheme as BaseScheme)
            ? (cfg.scheme as BaseScheme)
            : base;
        const w = drawWeights(rng, scheme, n, p.fanIn, p.fanOut);
        const m = scale * (fixup && p.fixup === 'branch' ? branchScale : 1);
        for (let i = 0; i < n; i++) view[i] = w[i]! * m;
        break;
      }
    }
  }
  return out;
}

/** Initial buffer values (running mean 0, running var 1), flat in buffer-layout order. */
export function initBuffers(buffers: readonly BufferSpec[]): Float64Array {
  const total = buffers.reduce((a, b) => a + size(b.shape), 0);
  const out = new Float64Array(total);
  let off = 0;
  for (const b of buffers) {
    const n = size(b.shape);
    out.fill(b.initial, off, off + n);
    off += n;
  }
  return out;
}
