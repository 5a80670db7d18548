#!/usr/bin/env node
// `npm test`: runs node:test over the given files (spec output), then ends with one line naming
// what was skipped (tests whose system packages are absent skip themselves with a reason) and
// the command that installs what they need.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL = 'bash .ci/run';
const files = process.argv.slice(2);
const skips = join(tmpdir(), `edgewise-test-skips-${process.pid}.jsonl`);
const reporter = new URL('./skip-reporter.mjs', import.meta.url).href;
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${skips}`,
    ...files,
  ],
  { stdio: 'inherit' },
);

const rows = existsSync(skips)
  ? readFileSync(skips, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(skips, { force: true });
console.log(summaryLine(rows));
process.exitCode = r.status ?? 1;

/**
 * "skipped: none", or "skipped N tests (reason ×k; …); to run them: bash .ci/run" — the install hint
 * only where a skip is not opt-in (opt-in skips say "set VAR…", which is how to run them).
 */
function summaryLine(rows) {
  if (rows.length === 0) return 'skipped: none';
  const byReason = new Map();
  for (const { reason } of rows)
    byReason.set(reason ?? 'no reason given', (byReason.get(reason ?? 'no reason given') ?? 0) + 1);
  const reasons = [...byReason].map(([reason, n]) => (n > 1 ? `${reason} ×${n}` : reason)).join('; ');
  const optIn = [...byReason.keys()].every((r) => r.startsWith('set '));
  return `skipped ${rows.length} test${rows.length === 1 ? '' : 's'} (${reasons})${optIn ? '' : `; to run them: ${INSTALL}`}`;
}
