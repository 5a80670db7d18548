// The max-lr study files (warmup, interventions, catapult, adam-warmup and the ResNet ones): each
// has a title, description, expected minutes, a quick version and tolerances; every model × remedy
// is a valid config or a remedy the model cannot take (LayerNorm off the MLP, Fixup off the
// residual net); catapult's base and the Transformer study's configs (arch transformer on
// text-sonnets), model and data load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadStudyFile } from '../../src/studies/run.ts';
import { maxLrPlan } from '../../src/studies/warmup.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { buildModel } from '../../src/nn/model.ts';
import { loadDataset } from '../../src/data/dataset.ts';

const ctx = (name: string, quick: boolean) => {
  const file = loadStudyFile(name);
  return {
    quick,
    tolerances: { ...file.tolerances, ...(quick ? (file.quick_tolerances ?? {}) : {}) },
    file,
    out: '/nonexistent',
    log: () => {},
    parallel: 2,
  };
};

test('study files: title, description, expected minutes, quick version, tolerances', () => {
  for (const name of ['warmup', 'warmup-resnet', 'interventions', 'interventions-resnet', 'catapult', 'adam-warmup']) {
    const f = loadStudyFile(name);
    assert.ok(f.title.length > 0 && (f.description ?? '').length > 0, name);
    assert.ok(f.expected_minutes.quick > 0 && f.expected_minutes.quick <= f.expected_minutes.full, name);
    assert.ok(f.quick !== undefined && Object.keys(f.tolerances).length > 0, name);
    for (const k of Object.keys(f.quick_tolerances ?? {}))
      assert.equal(typeof f.tolerances[k], 'number', `${name}: ${k}`);
  }
});

test('max-lr studies: every model × remedy resolves, or is n/a for a stated reason', () => {
  for (const name of ['warmup', 'warmup-resnet', 'interventions', 'interventions-resnet']) {
    for (const quick of [false, true]) {
      const plan = maxLrPlan(ctx(name, quick));
      assert.ok(plan.cells.length > 0 && plan.variants.includes('none'), name);
      for (const c of plan.cells) {
        if (c.config === null)
          assert.match(
            c.error!,
            /layernorm is available for arch mlp only|fixup needs arch resnet/,
            `${name}/${c.name}`,
          );
        else
          assert.ok(
            c.maxLr.lo > 0 &&
              c.maxLr.hi >= c.maxLr.lo &&
              (c.maxLr.stop_train_acc !== null || c.maxLr.stop_train_loss !== null),
            `${name}/${c.name}`,
          );
      }
      // Warmup trials must have steps left after warmup to reach the target.
      for (const c of plan.cells)
        if (c.config)
          assert.ok(c.config.train.steps > c.config.schedule.warmup_steps, `${name}/${c.name}: budget after warmup`);
    }
  }
  // Each remedy the model cannot take is n/a: Fixup on the MLP, LayerNorm on the ResNet.
  const na = (name: string) =>
    maxLrPlan(ctx(name, false))
      .cells.filter((c) => c.config === null)
      .map((c) => `${c.model}_${c.name}`);
  assert.deepEqual(na('interventions'), ['fc-tanh_fixup']);
  assert.deepEqual(na('interventions-resnet'), ['resnet_layernorm']);
  // The two files differ only in the model (and its search range): the same remedies and rules.
  const [mlp, res] = [ctx('interventions', false), ctx('interventions-resnet', false)].map(maxLrPlan);
  assert.deepEqual(mlp!.variants, res!.variants);
  assert.deepEqual(loadStudyFile('interventions').tolerances, loadStudyFile('interventions-resnet').tolerances);
  assert.deepEqual(loadStudyFile('warmup').tolerances, loadStudyFile('warmup-resnet').tolerances);
});

test('catapult and adam-warmup: configs, model and text load', async () => {
  const c = loadStudyFile('catapult');
  resolveConfig(c.base);
  // adam-warmup: the LN placements × variants are arch transformer configs on text-sonnets.
  for (const quick of [false, true]) {
    const plan = maxLrPlan(ctx('adam-warmup', quick));
    assert.deepEqual(plan.models, ['pre-ln', 'post-ln']);
    for (const cell of plan.cells) {
      assert.ok(cell.config !== null, `${cell.name}: ${cell.error}`);
      assert.equal(cell.config.model.arch, 'transformer');
      assert.equal(cell.config.model.transformer!.ln, cell.model === 'pre-ln' ? 'pre' : 'post');
      assert.ok(cell.config.train.steps > cell.config.schedule.warmup_steps, `${cell.name}: budget after warmup`);
    }
    const cfg = plan.cells[0]!.config!;
    const data = await loadDataset({ ...cfg.data });
    const m = buildModel({ ...cfg.model, init: { ...cfg.model.init } }, data.train.sampleShape, data.train.numClasses);
    assert.ok(m.layout.size > 0 && data.train.n === cfg.data.train_size);
  }
});
