// `edgewise max-lr` as a function (src/cli/maxLr.ts): remedies applied on top of a config, one
// search per remedy over child runs, the table, max-lr.json and sweep.json; a remedy the model
// cannot take is a row marked n/a, an unknown one a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandMaxLr, maxLrTableText } from '../../src/cli/maxLr.ts';

test('commandMaxLr: a search per remedy, n/a rows, files for edgewise report', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgewise-maxlr-cli-'));
  const write = process.stdout.write.bind(process.stdout);
  let printed = '';
  try {
    const cfg = join(dir, 'tiny.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        data: { name: 'synthetic-gmm', train_size: 200, test_size: 100, input_dim: 10, num_classes: 3 },
        model: { arch: 'mlp', widths: [16] },
        loss: 'mse',
        optimizer: { name: 'gd', lr: 1 },
        train: { steps: 60, stop_train_loss: 0.2, divergence_loss: 10 },
        log: { every: 5, test_every: 0 },
      }),
    );
    const out = join(dir, 'out');
    process.stdout.write = ((s: string) => ((printed += s), true)) as typeof process.stdout.write;
    const res = await commandMaxLr(cfg, {
      variants: ['none,warmup-20', 'fixup'],
      out,
      lo: '0.25',
      hi: '16',
      grid: '4',
      bisect: '0',
      parallel: '2',
      quiet: true,
    });
    process.stdout.write = write;
    assert.deepEqual(
      res.map((r) => r.variant),
      ['none', 'warmup-20', 'fixup'],
    );
    assert.match(res[2]!.error!, /fixup needs arch resnet/);
    for (const r of res.slice(0, 2)) {
      assert.ok(r.result !== null && r.result.maxStableLr !== null, `${r.variant}: ${r.result?.note}`);
      assert.ok(r.testAcc !== null && r.testAcc >= 0 && r.testAcc <= 1);
      // Trials ran their whole budget (the default), under warmup and without.
      for (const t of r.result!.trials) if (t.stable) assert.equal(t.steps, 60);
    }
    assert.match(printed, /variant\s+\| max stable η/);
    assert.match(printed, /fixup\s+\| n\/a/);
    assert.ok(printed.includes(maxLrTableText(res, false)), 'the printed table');
    const saved = JSON.parse(readFileSync(join(out, 'max-lr.json'), 'utf8')) as { outcomes: unknown[] };
    assert.equal(saved.outcomes.length, 3);
    const sweep = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { runs: Array<{ name: string }> };
    for (const r of sweep.runs) assert.ok(existsSync(join(out, r.name, 'summary.json')), r.name);
    await assert.rejects(
      commandMaxLr(cfg, { variants: ['dropout'], out: join(dir, 'x'), quiet: true }),
      (e: Error) => e.name === 'UsageError' && /unknown variant 'dropout'/.test(e.message),
    );
    await assert.rejects(
      commandMaxLr(cfg, { lo: '2', hi: '1', out: join(dir, 'y'), quiet: true }),
      /--hi must be a number >= --lo/,
    );
  } finally {
    process.stdout.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});
