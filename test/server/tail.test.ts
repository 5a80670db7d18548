import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, realpathSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/experiments/atomicWrite.ts';
import { readMetrics, type MetricRow } from '../../src/experiments/metrics.ts';
import { MetricsTail } from '../../src/server/tail.ts';
import { createRng } from '../../src/util/random.ts';
import { jsonl } from './fixture.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'edgewise-tail-')));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * Random sequences of what happens to a metrics.jsonl (appends of whole rows, a row written in two
 * pieces, atomic replacement by a prefix as on resume, in-place rewrites, deletion). After every
 * event, the rows a follower has accumulated from MetricsTail's updates must equal what the run
 * store's reader (the oracle) reads from the file (complete lines only).
 */
test('MetricsTail: the followed rows always equal readMetrics of the file', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rng = createRng(seed);
    const file = join(root, `m${seed}.jsonl`);
    const tail = new MetricsTail(root, file);
    let shown: MetricRow[] = [];
    let step = 0;
    let pending: string | null = null; // second half of a row being written
    const row = (): MetricRow => ({
      step: step++,
      train_loss: rng.uniform(),
      eigs: [rng.normal(), rng.normal()],
      note: 'x'.repeat(rng.int(40)),
    });
    for (let k = 0; k < 60; k++) {
      const op = rng.uniform();
      if (pending !== null && op < 0.5) {
        appendFileSync(file, pending);
        pending = null;
      } else if (pending === null && op < 0.55) {
        const text = jsonl([row()]);
        const cut = 1 + rng.int(text.length - 1);
        appendFileSync(file, text.slice(0, cut));
        pending = text.slice(cut);
      } else if (pending === null && op < 0.62 && existsSync(file)) {
        const rows = readMetrics(file).rows;
        const keep = rows.slice(0, rng.int(rows.length + 1));
        writeFileAtomic(file, jsonl(keep));
        step = keep.length > 0 ? keep[keep.length - 1].step + 1 : 0;
      } else if (pending === null && op < 0.67) {
        // In place, same inode: different rows, possibly longer than before.
        const n = rng.int(12);
        step = 0;
        writeFileSync(file, jsonl(Array.from({ length: n }, row)));
      } else if (pending === null && op < 0.7 && existsSync(file)) {
        unlinkSync(file);
        step = 0;
      } else if (pending === null) {
        appendFileSync(file, jsonl(Array.from({ length: 1 + rng.int(4) }, row)));
      }
      const u = tail.poll();
      if (u !== null) shown = u.reset ? [...u.rows] : [...shown, ...u.rows];
      // A follower waits for a row's newline (the writer emits both in one write), so a last line
      // that happens to be complete JSON without its newline is not shown yet.
      const m = existsSync(file) ? readMetrics(file) : null;
      const oracle = m === null ? [] : m.unterminated ? m.rows.slice(0, -1) : m.rows;
      assert.deepEqual(shown, oracle, `seed ${seed}, event ${k}`);
    }
  }
});

test('MetricsTail: nothing changed → null; a damaged line is skipped and counted', () => {
  const file = join(root, 'damaged.jsonl');
  writeFileSync(file, jsonl([{ step: 0 }, { step: 1 }]));
  const tail = new MetricsTail(root, file);
  assert.deepEqual(tail.poll(), { reset: false, rows: [{ step: 0 }, { step: 1 }] });
  assert.equal(tail.poll(), null);
  appendFileSync(file, '{"step": oops}\n{"step": 2}\n');
  assert.deepEqual(tail.poll(), { reset: false, rows: [{ step: 2 }] });
  assert.equal(tail.skipped, 1);
  assert.equal(new MetricsTail(root, join(root, 'missing.jsonl')).poll(), null);
});
