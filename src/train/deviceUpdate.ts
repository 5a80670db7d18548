/**
 * Optimizer updates as graphs over flat float32 tensors, for training whose parameters and
 * optimizer state stay in device memory (webgpu): the formulas of sgd.ts, adam.ts and
 * rmsprop.ts, elementwise, in float32 throughout (the host updates keep float64 moments and
 * round θ once per step, so the two paths agree to float32 rounding, not bit for bit).
 *
 * Inputs: theta, grad [dim]; scalars lr (η), gscale (the clipping factor, host-computed from
 * ‖g‖), and bc1, bc2 (1 − β^t) for the Adam family; lr_scale [dim] with per-coordinate η
 * multipliers when `scaled`; state:NAME [dim] per state buffer. Outputs: next:theta and
 * next:NAME, each [dim].
 */
import { GraphBuilder, type Tensor } from '../engine/builder.ts';
import type { Graph } from '../engine/ir.ts';
import * as o from '../engine/ops.ts';
import { simplify } from '../engine/passes.ts';
import type { ResolvedOptimizerConfig } from './optimizer-config.ts';

/** A state buffer of OptimizerState: momentum's buf, Adam's m and v, RMSProp's v. */
export type StateBuffer = 'buf' | 'm' | 'v';

/** An update graph and the state buffers it reads (state:NAME) and writes (next:NAME). */
export interface UpdateGraph {
  readonly graph: Graph;
  readonly buffers: readonly StateBuffer[];
  /** Whether it takes bc1, bc2 (the Adam family's bias corrections at the new step count). */
  readonly biasCorrected: boolean;
}

/** The state buffers `config.name`'s update keeps (as in optimizer-state.ts). */
export function stateBuffers(config: ResolvedOptimizerConfig): readonly StateBuffer[] {
  switch (config.name) {
    case 'gd':
    case 'sgd':
      return [];
    case 'momentum':
    case 'nesterov':
      return ['buf'];
    case 'rmsprop':
      return ['v'];
    default:
      return ['m', 'v'];
  }
}

/** The update θ, state → θ', state' of `config` for `dim` parameters (`scaled`: with lr_scale). */
export function updateGraph(config: ResolvedOptimizerConfig, dim: number, scaled: boolean): UpdateGraph {
  const b = new GraphBuilder();
  const vec = (name: string) => b.input(name, [dim], 'float32');
  const scalar = (name: string) => b.input(name, [], 'float32');
  const theta = vec('theta');
  const grad = vec('grad');
  const lr = scalar('lr');
  const gscale = scalar('gscale');
  const eta: Tensor = scaled ? o.mul(lr, vec('lr_scale')) : lr;
  const buffers = stateBuffers(config);
  const state = Object.fromEntries(buffers.map((n) => [n, vec(`state:${n}`)])) as Record<StateBuffer, Tensor>;
  const wd = config.weight_decay;
  const decoupled = config.name === 'adamw';
  // g = clipped gradient + L2 term (adamw's decay is decoupled and applied to θ below).
  const clipped = o.mul(gscale, grad);
  const g = wd !== 0 && !decoupled ? o.add(clipped, o.mul(wd, theta)) : clipped;
  const out: Record<string, Tensor> = {};
  let biasCorrected = false;
  switch (config.name) {
    case 'gd':
    case 'sgd':
      out['next:theta'] = o.sub(theta, o.mul(eta, g));
      break;
    case 'momentum':
    case 'nesterov': {
      const mu = config.momentum;
      const buf = o.add(o.mul(mu, state.buf), g);
      out['next:buf'] = buf;
      const dir = config.name === 'nesterov' ? o.add(g, o.mul(mu, buf)) : buf;
      out['next:theta'] = o.sub(theta, o.mul(eta, dir));
      break;
    }
    case 'rmsprop': {
      const b2 = config.beta2;
      const v = o.add(o.mul(b2, state.v), o.mul(1 - b2, o.mul(g, g)));
      out['next:v'] = v;
      const step = o.div(o.mul(eta, g), o.add(o.sqrt(v), config.eps));
      // g = 0 moves nothing (with eps = 0 the step would be 0/0).
      out['next:theta'] = o.sub(theta, o.where(o.equal(g, 0), 0, step));
      break;
    }
    default: {
      biasCorrected = true;
      const { beta1: b1, beta2: b2, eps } = config;
      const bc1 = scalar('bc1');
      const bc2 = scalar('bc2');
      const m = o.add(o.mul(b1, state.m), o.mul(1 - b1, g));
      const v = o.add(o.mul(b2, state.v), o.mul(1 - b2, o.mul(g, g)));
      out['next:m'] = m;
      out['next:v'] = v;
      const root = o.sqrt(o.div(v, bc2));
      const ub = config.name === 'adam-ub' || config.name === 'rmsprop-ub';
      const denom = o.add(ub ? o.minimum(root, config.clip_denominator as number) : root, eps);
      const step = o.div(o.mul(eta, o.div(m, bc1)), denom);
      const shrunk = decoupled && wd !== 0 ? o.mul(o.sub(1, o.mul(eta, wd)), theta) : theta;
      // m = 0 moves nothing but the decay (with eps = 0 and v = 0 the step would be 0/0).
      out['next:theta'] = o.sub(shrunk, o.where(o.equal(m, 0), 0, step));
    }
  }
  // Every output is [dim], also where eta is a scalar (so θ' can feed the next step as θ).
  for (const [k, t] of Object.entries(out))
    if (t.shape.length !== 1 || t.shape[0] !== dim) out[k] = o.broadcastTo(t, [dim]);
  return { graph: simplify(b.build(out)), buffers, biasCorrected };
}
