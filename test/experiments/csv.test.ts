import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricsFileToCsv, metricsToCsv } from '../../src/experiments/csv.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgewise-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small RFC 4180 parser (the oracle for quoting). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  assert.equal(field, '', 'text ends with a newline');
  return rows;
}

test('columns are the union of keys in first-appearance order; lists expand to key_i', () => {
  const csv = metricsToCsv([
    { step: 0, lr: 0.05, train_loss: 2.3, sharpness: 10, eigs: [10, 4] },
    { step: 1, lr: 0.05, train_loss: 2.1 },
    { step: 2, lr: 0.05, train_loss: null, test_acc: 0.5, eigs: [12, 5, 1] },
  ]);
  assert.deepEqual(parseCsv(csv), [
    ['step', 'lr', 'train_loss', 'sharpness', 'eigs_0', 'eigs_1', 'eigs_2', 'test_acc'],
    ['0', '0.05', '2.3', '10', '10', '4', '', ''],
    ['1', '0.05', '2.1', '', '', '', '', ''],
    ['2', '0.05', '', '', '12', '5', '1', '0.5'],
  ]);
});

test('nested mappings flatten to a.b, scalars among lists go to key_0, text is quoted', () => {
  const csv = metricsToCsv([
    { step: 0, timing: { grad_ms: 1.5, hvp_ms: 3 }, eigvec_cos: 0.9, note: 'a, "quoted"\nline' },
    { step: 1, eigvec_cos: [0.8, 0.7], flag: true, tiny: 1e-12 },
  ]);
  assert.deepEqual(parseCsv(csv), [
    ['step', 'timing.grad_ms', 'timing.hvp_ms', 'eigvec_cos_0', 'eigvec_cos_1', 'note', 'flag', 'tiny'],
    ['0', '1.5', '3', '0.9', '', 'a, "quoted"\nline', '', ''],
    ['1', '', '', '0.8', '0.7', '', 'true', '1e-12'],
  ]);
  assert.equal(metricsToCsv([]), '\n');
});

test('exports a metrics.jsonl file, tolerating a truncated last line', () => {
  const metrics = join(dir, 'metrics.jsonl');
  writeFileSync(metrics, '{"step":0,"eigs":[2,1]}\n{"step":1,"eigs":[3,1]}\n{"step":2,"ei');
  const out = join(dir, 'metrics.csv');
  const csv = metricsFileToCsv(metrics, out);
  assert.equal(csv, 'step,eigs_0,eigs_1\n0,2,1\n1,3,1\n');
  assert.equal(readFileSync(out, 'utf8'), csv);
});
