/**
 * Run locks: which worker is running a run, on a file system shared by many machines (NFS, a
 * Kubernetes PVC, a cluster's scratch space). No flock/fcntl locks: those are unreliable or
 * absent on such file systems. Only two primitives are relied on, both atomic on local file
 * systems and on NFSv3+: creating a file with O_EXCL (`open(…, 'wx')`) and rename within one
 * directory.
 *
 * The lock is `RUN_DIR/.lock`, a JSON object {owner, pid, host, pid_namespace, started_at,
 * heartbeat_at}. `owner` (host:pid:random) is unique to one acquisition. The holder rewrites the
 * file every `heartbeatMs` with a new heartbeat_at (write a temporary file, rename it over).
 *
 * A lock is stale when its heartbeat is older than `staleAfterMs` (a dead or hung machine), or
 * when it was written on this machine (same host name, boot and PID namespace, so its pid means
 * the same process here) by a process that no longer exists (`kill(pid, 0)` fails with ESRCH).
 * A lock that cannot be parsed (its creator died between creating and writing it) is stale once
 * its mtime is older than `staleAfterMs`.
 *
 * Taking over a stale lock is race-free between workers that all see it stale at once:
 * 1. Each creates, with O_EXCL, a marker `.lock.takeover-<id>-<gen>` where <id> is a hash of the
 *    exact stale content it saw; for one stale content only one worker can create the marker.
 * 2. The winner re-reads `.lock`; if it is no longer that content (its holder beat again, or
 *    someone finished a takeover), it gives up and starts over.
 * 3. It writes its own content to a temporary file and renames it over `.lock`, then reads the
 *    lock back and checks that the owner is itself.
 * `.lock` never disappears during a takeover, so no worker can create a fresh lock in between.
 * (Renaming the stale lock away and then creating a new one has an ABA hole: a slow worker that
 * read the stale content before someone else's takeover would rename away the fresh lock.) A
 * marker whose creator died mid-takeover (older than staleAfterMs) is skipped by using the next
 * <gen>; markers are deleted after a successful takeover (a late worker that then re-creates one
 * fails step 2, because heartbeats and owners never repeat).
 *
 * Guarantee (the usual one for leases): no two live workers hold a lock at once, provided a live
 * holder heartbeats at least every staleAfterMs (heartbeatMs well below it) and the machines'
 * clocks agree to well within staleAfterMs. A holder that finds its lock taken over (it stalled
 * past staleAfterMs) marks its handle lost and aborts `handle.signal` so its work stops.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomicWrite.ts';

/** Name of the lock file in a run directory. */
export const LOCK_FILE = '.lock';
/** Default: a lock whose heartbeat is older than this (ms) is stale. */
export const DEFAULT_STALE_AFTER_MS = 120_000;
/** Default heartbeat period (ms). */
export const DEFAULT_HEARTBEAT_MS = 10_000;

/** Content of a lock file. Times are ISO 8601. */
export interface LockInfo {
  /** `host:pid:random`, unique to one acquisition. */
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  /** Boot id and PID namespace of the holder (null where unknown): pids are comparable only within one. */
  readonly pid_namespace: string | null;
  readonly started_at: string;
  readonly heartbeat_at: string;
}

export interface LockOptions {
  /** A heartbeat older than this (ms) makes the lock stale. Default DEFAULT_STALE_AFTER_MS. */
  readonly staleAfterMs?: number;
  /** Heartbeat period (ms); 0 = no timer (call heartbeat() yourself). Default defaultHeartbeatMs(staleAfterMs). */
  readonly heartbeatMs?: number;
  /** Called once if the lock is found taken over or gone while held. */
  readonly onLost?: (reason: string) => void;
  /** Called when a heartbeat fails to write (an I/O error); the lock is kept unless it becomes lost. */
  readonly onError?: (error: Error) => void;
}

/** DEFAULT_HEARTBEAT_MS, or a sixth of staleAfterMs when that is shorter (several beats per staleness window). */
export function defaultHeartbeatMs(staleAfterMs: number): number {
  return Math.max(1, Math.min(DEFAULT_HEARTBEAT_MS, Math.floor(staleAfterMs / 6)));
}

/** A held lock. */
export interface RunLock {
  readonly path: string;
  readonly owner: string;
  /** The content last written. */
  readonly info: LockInfo;
  /** The stale lock this acquisition replaced (null when the lock was free). */
  readonly tookOver: { readonly info: LockInfo | null; readonly reason: string } | null;
  /** True once the lock was found taken over or deleted; the holder must stop working. */
  readonly lost: boolean;
  /** Aborted when the lock is lost. */
  readonly signal: AbortSignal;
  /** Rewrites heartbeat_at now; returns false if the lock is lost. */
  heartbeat(): boolean;
  /** Stops the heartbeat and deletes the lock file if it is still this holder's. Idempotent. */
  release(): void;
}

/** What a lock file says, judged against a staleness bound. */
export type LockState =
  | { readonly state: 'free' }
  | { readonly state: 'held'; readonly info: LockInfo | null; readonly ageMs: number }
  | { readonly state: 'stale'; readonly info: LockInfo | null; readonly ageMs: number; readonly reason: string };

interface Observed {
  readonly raw: string;
  readonly info: LockInfo | null;
  readonly mtimeMs: number;
  /** Identity of this exact lock content (changes with every heartbeat). */
  readonly id: string;
}

let machineCache: { host: string; ns: string | null } | null = null;

/** Host name plus boot id and PID namespace: where a pid names the same process as here. */
function machine(): { host: string; ns: string | null } {
  if (machineCache === null) {
    let ns: string | null;
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      ns = `${boot}/${readlinkSync('/proc/self/ns/pid')}`;
    } catch {
      ns = null; // not Linux: fall back to the host name alone
    }
    machineCache = { host: hostname(), ns };
  }
  return machineCache;
}

function isLockInfo(v: unknown): v is LockInfo {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.owner === 'string' &&
    typeof o.pid === 'number' &&
    typeof o.host === 'string' &&
    (o.pid_namespace === null || o.pid_namespace === undefined || typeof o.pid_namespace === 'string') &&
    typeof o.started_at === 'string' &&
    typeof o.heartbeat_at === 'string' &&
    Number.isFinite(Date.parse(o.heartbeat_at))
  );
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === code;
}

function observe(path: string): Observed | null {
  let raw: string;
  let mtimeMs: number;
  try {
    raw = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  let info: LockInfo | null = null;
  try {
    const v = JSON.parse(raw) as unknown;
    if (isLockInfo(v)) info = { ...v, pid_namespace: v.pid_namespace ?? null };
  } catch {
    info = null;
  }
  // Parsed content is unique (owner + heartbeat); an unparseable file is identified by its bytes and mtime.
  const id = createHash('sha1')
    .update(info !== null ? raw : `${raw}\0${mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  return { raw, info, mtimeMs, id };
}

/** Whether process `pid` exists on this machine (EPERM: it exists, owned by someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return !isErrno(e, 'ESRCH');
  }
}

function judge(o: Observed, staleAfterMs: number, now: number): LockState {
  if (o.info === null) {
    const ageMs = now - o.mtimeMs;
    return ageMs > staleAfterMs
      ? {
          state: 'stale',
          info: null,
          ageMs,
          reason: `unreadable lock file not modified for ${(ageMs / 1000).toFixed(1)} s`,
        }
      : { state: 'held', info: null, ageMs };
  }
  const info = o.info;
  const ageMs = now - Date.parse(info.heartbeat_at);
  const here = machine();
  // pid <= 0 would address process groups in kill(); such a lock is judged by its heartbeat only.
  const sameMachine =
    info.host === here.host &&
    (info.pid_namespace ?? null) === here.ns &&
    Number.isSafeInteger(info.pid) &&
    info.pid > 0;
  if (sameMachine && !pidAlive(info.pid))
    return { state: 'stale', info, ageMs, reason: `its process ${info.pid} on ${info.host} is dead` };
  if (ageMs > staleAfterMs)
    return {
      state: 'stale',
      info,
      ageMs,
      reason: `no heartbeat from ${info.owner} for ${(ageMs / 1000).toFixed(1)} s`,
    };
  return { state: 'held', info, ageMs };
}

/** Reads `runDir/.lock` and judges it: free, held by a live worker, or stale. */
export function lockState(
  runDir: string,
  opts: { readonly staleAfterMs?: number; readonly now?: number } = {},
): LockState {
  const o = observe(join(runDir, LOCK_FILE));
  if (o === null) return { state: 'free' };
  return judge(o, opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, opts.now ?? Date.now());
}

/** The parsed content of `runDir/.lock`, or null if there is none or it is unreadable. */
export function readRunLock(runDir: string): LockInfo | null {
  return observe(join(runDir, LOCK_FILE))?.info ?? null;
}

function serialize(info: LockInfo): string {
  return `${JSON.stringify(info)}\n`;
}

/** Creates `path` with O_EXCL holding `text`; false if it exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  }
  try {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true }); // ours: created just now
    throw e;
  }
  closeSync(fd);
  return true;
}

function removeMarkers(runDir: string, id: string): void {
  const prefix = `${LOCK_FILE}.takeover-${id}-`;
  try {
    for (const name of readdirSync(runDir)) if (name.startsWith(prefix)) rmSync(join(runDir, name), { force: true });
  } catch {
    // best effort: a leftover marker only costs a file
  }
}

/**
 * Tries to take the lock of one run directory (created if missing). Returns a handle, or null
 * when a live worker holds it (or is taking it over right now). Takes over a stale lock.
 */
export function acquireRunLock(runDir: string, opts: LockOptions = {}): RunLock | null {
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const heartbeatMs = opts.heartbeatMs ?? defaultHeartbeatMs(staleAfterMs);
  if (!(staleAfterMs > 0)) throw new RangeError(`staleAfterMs must be > 0 (got ${staleAfterMs})`);
  if (!(heartbeatMs >= 0) || (heartbeatMs > 0 && heartbeatMs >= staleAfterMs)) {
    throw new RangeError(`heartbeatMs must be >= 0 and below staleAfterMs=${staleAfterMs} (got ${heartbeatMs})`);
  }
  mkdirSync(runDir, { recursive: true });
  const path = join(runDir, LOCK_FILE);
  const { host, ns } = machine();
  const owner = `${host}:${process.pid}:${randomBytes(6).toString('hex')}`;
  const nowIso = (): string => new Date().toISOString();
  const started = nowIso();
  const fresh = (): LockInfo => ({
    owner,
    pid: process.pid,
    host,
    pid_namespace: ns,
    started_at: started,
    heartbeat_at: nowIso(),
  });

  // A few rounds: each lost race (the lock vanished, changed or was re-created) starts over.
  for (let round = 0; round < 20; round++) {
    let info = fresh();
    if (createExclusive(path, serialize(info))) {
      if (observe(path)?.info?.owner === owner) return makeHandle(path, info, null, staleAfterMs, heartbeatMs, opts);
      continue; // cannot happen with a correct O_EXCL; be safe and re-judge
    }
    const seen = observe(path);
    if (seen === null) continue; // released meanwhile: try to create again
    const verdict = judge(seen, staleAfterMs, Date.now());
    if (verdict.state !== 'stale') return null;

    // Take over: one marker per exact stale content; a marker older than staleAfterMs belongs to
    // a taker that died mid-way, so use the next generation.
    let marker: string | null = null;
    for (let gen = 0; gen < 1000 && marker === null; gen++) {
      const m = join(runDir, `${LOCK_FILE}.takeover-${seen.id}-${gen}`);
      if (createExclusive(m, `${JSON.stringify({ by: owner, at: nowIso() })}\n`)) marker = m;
      else {
        let age: number;
        try {
          age = Date.now() - statSync(m).mtimeMs;
        } catch {
          age = Infinity; // deleted by a finished takeover: the next round re-reads the lock
        }
        if (age <= staleAfterMs) return null; // someone else is taking it over now
      }
    }
    if (marker === null) return null;
    const again = observe(path);
    if (again === null || again.id !== seen.id) {
      rmSync(marker, { force: true });
      continue; // changed since we judged it: judge again
    }
    info = fresh();
    writeFileAtomic(path, serialize(info));
    if (observe(path)?.info?.owner !== owner) {
      rmSync(marker, { force: true });
      continue; // lost a race with a holder that woke up (see the lease guarantee above)
    }
    removeMarkers(runDir, seen.id);
    return makeHandle(path, info, { info: seen.info, reason: verdict.reason }, staleAfterMs, heartbeatMs, opts);
  }
  return null;
}

function makeHandle(
  path: string,
  first: LockInfo,
  tookOver: RunLock['tookOver'],
  staleAfterMs: number,
  heartbeatMs: number,
  opts: LockOptions,
): RunLock {
  const controller = new AbortController();
  let info = first;
  let lost = false;
  let released = false;
  let lastOk = Date.now();
  let timer: NodeJS.Timeout | null = null;

  const markLost = (reason: string): void => {
    if (lost) return;
    lost = true;
    if (timer !== null) clearInterval(timer);
    timer = null;
    controller.abort(new Error(`lock ${path} lost: ${reason}`));
    opts.onLost?.(reason);
  };

  const heartbeat = (): boolean => {
    if (lost) return false;
    if (released) return true;
    try {
      const cur = observe(path);
      if (cur === null) {
        markLost('the lock file was deleted');
        return false;
      }
      if (cur.info?.owner !== info.owner) {
        markLost(`taken over by ${cur.info?.owner ?? 'an unreadable lock'}`);
        return false;
      }
      const next: LockInfo = { ...info, heartbeat_at: new Date().toISOString() };
      writeFileAtomic(path, serialize(next));
      info = next;
      lastOk = Date.now();
      return true;
    } catch (e) {
      opts.onError?.(e as Error);
      // Unable to beat for so long that others may judge the lock stale: stop, do not fight.
      if (Date.now() - lastOk > staleAfterMs)
        markLost(`no heartbeat written for ${((Date.now() - lastOk) / 1000).toFixed(1)} s`);
      return !lost;
    }
  };

  if (heartbeatMs > 0) {
    timer = setInterval(heartbeat, heartbeatMs);
    timer.unref(); // a forgotten lock must not keep the process alive
  }

  return {
    path,
    owner: first.owner,
    get info() {
      return info;
    },
    tookOver,
    get lost() {
      return lost;
    },
    signal: controller.signal,
    heartbeat,
    release(): void {
      if (released) return;
      released = true;
      if (timer !== null) clearInterval(timer);
      timer = null;
      if (lost) return;
      try {
        // Only delete our own lock (a lock taken over from us belongs to someone else now).
        if (observe(path)?.info?.owner === info.owner) unlinkSync(path);
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) opts.onError?.(e as Error);
      }
    },
  };
}
