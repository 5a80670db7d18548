/** The run's config at a glance: one chip per section (data, model, optimizer, …) and the full config.json. */
import { h } from '../dom.ts';
import { fmt, num } from '../format.ts';

/** The chips and the collapsible config.json of a run's resolved config. */
export function configSummary(config: Record<string, unknown>): HTMLElement[] {
  const c = config as Record<string, Record<string, unknown> | unknown>;
  const sec = (k: string): Record<string, unknown> =>
    c[k] !== null && typeof c[k] === 'object' ? (c[k] as Record<string, unknown>) : {};
  const data = sec('data');
  const model = sec('model');
  const opt = sec('optimizer');
  const sched = sec('schedule');
  const clip = sec('clip');
  const curv = sec('curvature');
  const init = model.init !== null && typeof model.init === 'object' ? (model.init as Record<string, unknown>) : {};
  const optBits = [String(opt.name ?? '?'), `η=${fmt(num(opt.lr))}`];
  if (opt.name === 'momentum' || opt.name === 'nesterov') optBits.push(`μ=${fmt(num(opt.momentum))}`);
  if (typeof opt.name === 'string' && opt.name.startsWith('adam'))
    optBits.push(`β₁=${fmt(num(opt.beta1))}`, `β₂=${fmt(num(opt.beta2))}`);
  if (opt.batch_size !== undefined) optBits.push(`batch ${String(opt.batch_size)}`);
  const chips: Array<[string, string]> = [
    ['data', `${String(data.name ?? '?')}${data.train_size ? ` · ${String(data.train_size)} train` : ''}`],
    [
      'model',
      `${String(model.arch ?? '?')} ${Array.isArray(model.widths) ? model.widths.join('×') : ''} ${String(model.activation ?? '')}${model.norm && model.norm !== 'none' ? ` · ${String(model.norm)}` : ''}`,
    ],
    [
      'init',
      `${String(init.scheme ?? '?')}${init.scale !== undefined && init.scale !== 1 ? ` ×${String(init.scale)}` : ''}`,
    ],
    ['loss', String(c.loss ?? '?')],
    ['optimizer', optBits.join(' · ')],
    ['schedule', `warmup ${String(sched.warmup_steps ?? 0)} · ${String(sched.decay ?? 'constant')}`],
    ['clip', clip.max_norm === null || clip.max_norm === undefined ? 'off' : `‖g‖ ≤ ${String(clip.max_norm)}`],
    ['curvature', `every ${String(curv.every ?? '?')} · top ${String(curv.top_k ?? '?')}`],
    ['seed', String(c.seed ?? '?')],
  ];
  const full = h(
    'details',
    { class: 'config-json' },
    h('summary', {}, 'config.json'),
    h('pre', {}, JSON.stringify(config, null, 2)),
  );
  return [
    h('div', { class: 'chips' }, ...chips.map(([k, v]) => h('span', { class: 'chip' }, h('b', {}, k), ' ', v))),
    full,
  ];
}
