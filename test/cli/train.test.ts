/**
 * `edgewise train` end to end, through the command line: the run directory's files and
 * fields, divergence as a recorded outcome, SIGKILL + --resume reproducing an uninterrupted
 * run exactly, and one-line errors for malformed configs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAST, cli, cliSpawn, tempDir } from './helpers.ts';
import { readSafetensors } from '../../src/experiments/safetensors.ts';

const rowsOf = (dir: string): Record<string, unknown>[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('edgewise train', () => {
  it('a short run writes every file with the documented fields', () => {
    const dir = join(tempDir(), 'run');
    const r = cli(['train', ...FAST, '--set', 'train.steps=20', '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /completed after 20 steps/);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    for (const k of [
      'data',
      'model',
      'loss',
      'optimizer',
      'schedule',
      'clip',
      'train',
      'curvature',
      'log',
      'seed',
      'versions',
    ])
      assert.ok(k in cfg, `config.json has ${k}`);
    assert.equal(cfg.optimizer.lr, 0.05, 'resolved default lr');
    assert.ok(cfg.versions.edgewise && cfg.versions.node, 'versions recorded');
    const rows = rowsOf(dir);
    assert.deepEqual(
      rows.map((r) => r.step),
      Array.from({ length: 21 }, (_, i) => i),
      'one row per step, 0..20',
    );
    for (const k of ['step', 'lr', 'train_loss', 'train_acc', 'grad_norm', 'param_norm', 'elapsed_s'])
      assert.ok(k in rows[0]!, `row has ${k}`);
    const measured = rows.filter((r) => 'sharpness' in r).map((r) => r.step);
    assert.deepEqual(measured, [0, 5, 10, 15, 20], 'curvature at step 0 and every 5 steps');
    const r5 = rows[5]!;
    assert.equal((r5.eigs as number[]).length, 2, 'top-2 eigenvalues');
    assert.ok((r5.eigs as number[])[0]! >= (r5.eigs as number[])[1]!, 'descending');
    assert.equal(r5.sharpness, (r5.eigs as number[])[0]);
    assert.equal(r5.threshold, 2 / 0.05);
    assert.ok(typeof r5.eigvec_cos === 'number' && (r5.eigvec_cos as number) <= 1 + 1e-9, 'eigvec_cos measured');
    assert.ok('test_loss' in rows[0]! && 'test_acc' in rows[20]!, 'test metrics at step 0 and at the end');
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'completed');
    assert.equal(summary.steps, 20);
    for (const k of ['train_loss', 'train_acc', 'test_loss', 'test_acc', 'sharpness'])
      assert.equal(typeof summary.final[k], 'number', `final.${k}`);
    const cks = readdirSync(join(dir, 'checkpoints'));
    assert.ok(cks.includes('step-000000.safetensors') && cks.includes('step-000020.safetensors'), cks.join(','));
    const init = readSafetensors(join(dir, 'checkpoints', 'step-000000.safetensors'));
    const names = init.tensors.map((t) => t.name);
    assert.deepEqual(names.slice(0, 4), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'], 'forward order');
    assert.deepEqual(init.tensors[0]!.shape, [32, 20], 'dense weights stored [out, in]');
  });

  it('a learning rate far above 2/λ ends as diverged with a reason, exit code 0', () => {
    const dir = join(tempDir(), 'run');
    const r = cli(['train', ...FAST, '--set', 'train.steps=200', '--set', 'optimizer.lr=50', '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'diverged');
    assert.match(summary.reason, /(above train.divergence_loss|non-finite)/);
    assert.ok(summary.steps < 200, 'stopped early');
    const rows = rowsOf(dir);
    assert.equal(rows[rows.length - 1]!.step, summary.steps, 'the diverging step is recorded');
  });

  it('SIGKILL mid-run, then --resume, gives metrics identical to an uninterrupted run', async () => {
    const base = tempDir();
    const args = [
      ...FAST,
      '--set',
      'train.steps=400',
      '--set',
      'curvature.every=2',
      '--set',
      'curvature.lanczos_iters=20',
    ];
    const whole = join(base, 'whole');
    assert.equal(cli(['train', ...args, '--out', whole], { timeoutMs: 300_000 }).status, 0);
    const cut = join(base, 'cut');
    const child = cliSpawn(['train', ...args, '--out', cut]);
    // Kill once the run is past its first resume state (step 50) but not finished.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const f = join(cut, 'metrics.jsonl');
        if (!existsSync(f)) return;
        const n = readFileSync(f, 'utf8').split('\n').length;
        if (n > 120) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 10);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      child.on('error', reject);
    });
    const mid = JSON.parse(readFileSync(join(cut, 'summary.json'), 'utf8'));
    assert.equal(mid.status, 'running', 'the run was interrupted before it finished');
    const r = cli(['train', '--resume', '--out', cut], { timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const strip = (rows: Record<string, unknown>[]) => rows.map(({ elapsed_s: _e, ...rest }) => rest);
    assert.deepEqual(strip(rowsOf(cut)), strip(rowsOf(whole)), 'identical metrics (elapsed time aside)');
    assert.equal(JSON.parse(readFileSync(join(cut, 'summary.json'), 'utf8')).status, 'completed');
  });

  it('20 malformed configs each give a one-line error naming the problem, non-zero exit, no stack trace', () => {
    const dir = tempDir();
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const cases: [string[], RegExp][] = [
      [['--set', 'optimizer.lr=-0.1'], /optimizer\.lr/],
      [['--set', 'optimizer.lr=0'], /optimizer\.lr/],
      [['--set', 'optimizer.name=adm'], /optimizer\.name.*(gd|adam)/],
      [['--set', 'model.widht=[10]'], /model\.widht/],
      [['--set', 'model.arch=transformer'], /model\.arch/],
      [['--set', 'model.activation=swish'], /model\.activation/],
      [['--set', 'loss=hinge'], /loss/],
      [['--set', 'train.steps=-5'], /train\.steps/],
      [['--set', 'train.steps=abc'], /train\.steps/],
      [['--set', 'curvature.top_k=0'], /curvature\.top_k/],
      [['--set', 'optimizer.batch_size=0'], /optimizer\.batch_size/],
      [['--set', 'data.name=imagenet'], /data\.name/],
      [['--set', 'data.preprocess=whiten'], /data\.preprocess/],
      [['--set', 'nonsense.key=1'], /nonsense/],
      [['--set', 'optimizer'], /optimizer/],
      [[file('bad.yaml', 'optimizer:\n  lr: [1, 2\n')], /bad\.yaml/],
      [[file('bad.json', '{"optimizer": {"lr": }}')], /bad\.json/],
      [[file('unknown.yaml', 'model:\n  arch: mlp\n  depht: 3\n')], /model\.depht/],
      [[join(dir, 'missing.yaml')], /missing\.yaml/],
      [['--set', 'optimizer.name=adam-ub'], /clip_denominator/],
    ];
    assert.equal(cases.length, 20);
    for (const [args, re] of cases) {
      const r = cli(['train', ...args, '--out', join(dir, 'never')]);
      const what = args.join(' ');
      assert.notEqual(r.status, 0, `${what}: non-zero exit`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
      assert.match(lines[0]!, re, `${what}: names the problem`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
      assert.ok(!existsSync(join(dir, 'never', 'metrics.jsonl')), `${what}: no run started`);
    }
  });
});
