import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  acquireRunLock,
  defaultHeartbeatMs,
  LOCK_FILE,
  lockState,
  readRunLock,
  type LockInfo,
} from '../../src/experiments/lock.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(root, `run${counter++}`);
const lockPath = (dir: string): string => join(dir, LOCK_FILE);
const readLock = (dir: string): LockInfo => JSON.parse(readFileSync(lockPath(dir), 'utf8')) as LockInfo;

/** A pid that belonged to a process of this machine that has exited. */
const DEAD_PID = spawnSync(process.execPath, ['-e', '0']).pid as number;

/** Writes a lock that looks like one from this machine whose process is dead. */
function writeDeadPidLock(dir: string): LockInfo {
  const probe = freshDir();
  const mine = acquireRunLock(probe, { heartbeatMs: 0 });
  assert.ok(mine);
  const info = { ...readLock(probe), pid: DEAD_PID, owner: `dead:${DEAD_PID}:${counter}` };
  mine.release();
  mkdirSync(dir, { recursive: true });
  writeFileSync(lockPath(dir), JSON.stringify(info));
  return info;
}

/** Writes a lock from another machine whose last heartbeat was `ageMs` ago. */
function writeRemoteLock(dir: string, ageMs: number): LockInfo {
  const t = new Date(Date.now() - ageMs).toISOString();
  const info: LockInfo = {
    owner: `node-7:4242:${counter}`,
    pid: 4242,
    host: 'node-7.cluster.invalid',
    pid_namespace: 'other',
    started_at: t,
    heartbeat_at: t,
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(lockPath(dir), JSON.stringify(info));
  return info;
}

test('a lock is exclusive, carries its owner, and is free again after release', () => {
  const dir = freshDir();
  assert.deepEqual(lockState(dir), { state: 'free' });
  const a = acquireRunLock(dir, { heartbeatMs: 0 });
  assert.ok(a);
  const info = readLock(dir);
  assert.equal(info.owner, a.owner);
  assert.equal(info.pid, process.pid);
  assert.match(
    info.owner,
    new RegExp(`^${info.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${process.pid}:[0-9a-f]{12}$`),
  );
  assert.ok(Number.isFinite(Date.parse(info.started_at)) && Number.isFinite(Date.parse(info.heartbeat_at)));
  assert.deepEqual(readRunLock(dir), info);
  assert.equal(lockState(dir).state, 'held');
  // A second acquisition (same live process, another handle) is refused, also after a moment.
  assert.equal(acquireRunLock(dir, { heartbeatMs: 0 }), null);
  a.release();
  a.release(); // idempotent
  assert.equal(existsSync(lockPath(dir)), false);
  const b = acquireRunLock(dir, { heartbeatMs: 0 });
  assert.ok(b);
  assert.notEqual(b.owner, a.owner);
  assert.equal(b.tookOver, null);
  b.release();
  assert.deepEqual(readdirSync(dir), []);
});

test('the heartbeat rewrites heartbeat_at atomically and keeps the rest', async () => {
  const dir = freshDir();
  const lock = acquireRunLock(dir, { staleAfterMs: 2000, heartbeatMs: 40 });
  assert.ok(lock);
  const first = readLock(dir);
  const beats = new Set<string>([first.heartbeat_at]);
  const until = Date.now() + 400;
  while (Date.now() < until) {
    // Readers always see a whole lock file (rename over it, never an in-place write).
    const now = readLock(dir);
    beats.add(now.heartbeat_at);
    assert.deepEqual({ ...now, heartbeat_at: '' }, { ...first, heartbeat_at: '' });
    await sleep(5);
  }
  assert.ok(beats.size >= 3, `only ${beats.size} distinct heartbeats in 400 ms at 40 ms`);
  const last = [...beats].map(Date.parse).sort((x, y) => x - y);
  assert.ok(last[last.length - 1] > Date.parse(first.heartbeat_at));
  assert.equal(lock.heartbeat(), true);
  lock.release();
  assert.deepEqual(readdirSync(dir), [], 'no temporary files left');
  assert.equal(defaultHeartbeatMs(120_000), 10_000);
  assert.equal(defaultHeartbeatMs(600), 100);
  assert.throws(() => acquireRunLock(freshDir(), { staleAfterMs: 100, heartbeatMs: 100 }), RangeError);
});

test('a lock with an old heartbeat is stale and taken over; a fresh one is not', () => {
  const fresh = freshDir();
  writeRemoteLock(fresh, 1000);
  assert.equal(lockState(fresh, { staleAfterMs: 60_000 }).state, 'held');
  assert.equal(acquireRunLock(fresh, { staleAfterMs: 60_000, heartbeatMs: 0 }), null);

  const dir = freshDir();
  const old = writeRemoteLock(dir, 10 * 60_000);
  const st = lockState(dir, { staleAfterMs: 60_000 });
  assert.equal(st.state, 'stale');
  assert.ok(st.state === 'stale' && st.ageMs >= 10 * 60_000 - 1000 && /no heartbeat/.test(st.reason));
  const lock = acquireRunLock(dir, { staleAfterMs: 60_000, heartbeatMs: 0 });
  assert.ok(lock);
  assert.deepEqual(lock.tookOver?.info, old);
  assert.match(lock.tookOver?.reason ?? '', /no heartbeat from node-7/);
  assert.equal(readLock(dir).owner, lock.owner);
  assert.deepEqual(readdirSync(dir), [LOCK_FILE], 'no takeover markers or temporary files left');
  lock.release();
});

test('a lock of a dead process on this machine is stale at once; of a live one it is held', () => {
  const dir = freshDir();
  const dead = writeDeadPidLock(dir);
  const st = lockState(dir, { staleAfterMs: 3_600_000 });
  assert.equal(st.state, 'stale');
  assert.ok(st.state === 'stale' && st.reason.includes(`process ${DEAD_PID}`) && st.reason.includes('dead'));
  const lock = acquireRunLock(dir, { staleAfterMs: 3_600_000, heartbeatMs: 0 });
  assert.ok(lock);
  assert.equal(lock.tookOver?.info?.owner, dead.owner);
  lock.release();

  // Same machine, live pid (our parent), fresh heartbeat: held. A pid from another machine is never probed.
  const live = freshDir();
  writeDeadPidLock(live);
  const info = { ...readLock(live), pid: process.ppid };
  writeFileSync(lockPath(live), JSON.stringify(info));
  assert.equal(lockState(live, { staleAfterMs: 3_600_000 }).state, 'held');
  const remote = freshDir();
  writeRemoteLock(remote, 0);
  writeFileSync(lockPath(remote), JSON.stringify({ ...readLock(remote), pid: DEAD_PID }));
  assert.equal(lockState(remote, { staleAfterMs: 3_600_000 }).state, 'held');
});

test('an unreadable lock (creator died before writing it) is held while recent, stale when old', () => {
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(lockPath(dir), '');
  assert.equal(lockState(dir, { staleAfterMs: 5000 }).state, 'held');
  assert.equal(acquireRunLock(dir, { staleAfterMs: 5000, heartbeatMs: 0 }), null);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockPath(dir), old, old);
  assert.equal(lockState(dir, { staleAfterMs: 5000 }).state, 'stale');
  const lock = acquireRunLock(dir, { staleAfterMs: 5000, heartbeatMs: 0 });
  assert.ok(lock);
  assert.equal(lock.tookOver?.info, null);
  lock.release();
});

test('a holder whose lock was taken over notices, aborts its signal and does not delete the new lock', () => {
  const dir = freshDir();
  const lost: string[] = [];
  const lock = acquireRunLock(dir, { staleAfterMs: 60_000, heartbeatMs: 0, onLost: (r) => lost.push(r) });
  assert.ok(lock);
  const other = writeRemoteLock(dir, 0); // as if another worker had judged us stale and taken over
  assert.equal(lock.heartbeat(), false);
  assert.equal(lock.lost, true);
  assert.equal(lock.signal.aborted, true);
  assert.equal(lost.length, 1);
  assert.match(lost[0], /taken over by node-7/);
  lock.release();
  assert.deepEqual(readLock(dir), other);

  const gone = freshDir();
  const l2 = acquireRunLock(gone, { heartbeatMs: 0 });
  assert.ok(l2);
  rmSync(lockPath(gone));
  assert.equal(l2.heartbeat(), false);
  assert.equal(l2.lost, true);
});

test('a takeover in progress blocks others; a takeover whose taker died is skipped after staleAfterMs', () => {
  const dir = freshDir();
  writeRemoteLock(dir, 10 * 60_000);
  // The marker a taker creates for this exact stale content (lock.ts: sha1 of the content, 16 hex digits).
  const id = createHash('sha1')
    .update(readFileSync(lockPath(dir), 'utf8'))
    .digest('hex')
    .slice(0, 16);
  const marker = join(dir, `${LOCK_FILE}.takeover-${id}-0`);
  writeFileSync(marker, '{}');
  assert.equal(acquireRunLock(dir, { staleAfterMs: 5000, heartbeatMs: 0 }), null);
  const old = new Date(Date.now() - 60_000);
  utimesSync(marker, old, old);
  const lock = acquireRunLock(dir, { staleAfterMs: 5000, heartbeatMs: 0 });
  assert.ok(lock);
  assert.deepEqual(readdirSync(dir), [LOCK_FILE], 'markers removed after the takeover');
  lock.release();
});

test('processes racing to take over one stale lock: exactly one wins, every time', async (t) => {
  const racers: ChildProcess[] = [];
  t.after(() => {
    for (const r of racers) r.kill('SIGKILL');
  });
  const N = 4;
  const ready: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    const child = fork(new URL('./fixtures/lockRacer.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    racers.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('error', reject);
      }),
    );
  }
  await Promise.all(ready);
  type Reply = { round: number; pid: number; won: boolean; owner: string | null; tookOver: string | null };
  const ROUNDS = 60;
  const kinds = ['dead pid', 'old heartbeat', 'unreadable'] as const;
  const wins = new Map<number, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const dir = freshDir();
    const kind = kinds[round % kinds.length];
    if (kind === 'dead pid') writeDeadPidLock(dir);
    else if (kind === 'old heartbeat') writeRemoteLock(dir, 10 * 60_000);
    else {
      mkdirSync(dir);
      writeFileSync(lockPath(dir), '{"owner":');
      const old = new Date(Date.now() - 60_000);
      utimesSync(lockPath(dir), old, old);
    }
    const replies = Promise.all(
      racers.map(
        (r) =>
          new Promise<Reply>((resolve) => {
            const on = (m: Reply): void => {
              if (m.round === round) {
                r.off('message', on);
                resolve(m);
              }
            };
            r.on('message', on);
          }),
      ),
    );
    const at = Date.now() + 25;
    for (const r of racers) r.send({ round, dir, at, staleAfterMs: 30_000 });
    const got = await replies;
    const winners = got.filter((g) => g.won);
    assert.equal(winners.length, 1, `round ${round} (${kind}): ${winners.length} winners`);
    assert.equal(readLock(dir).owner, winners[0].owner, `round ${round}: the lock file names the winner`);
    assert.ok(winners[0].tookOver !== null);
    assert.deepEqual(readdirSync(dir), [LOCK_FILE], `round ${round}: no markers or temporary files left`);
    wins.set(winners[0].pid, (wins.get(winners[0].pid) ?? 0) + 1);
  }
  // Not a correctness condition, but shows the racers really competed.
  assert.ok(wins.size >= 2, `one racer won all ${ROUNDS} rounds`);
});
