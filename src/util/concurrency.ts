/**
 * Bounded concurrency for async work (child-process runs, trials): a map over a list with at most
 * `limit` calls in flight, and a limiter that several independent callers share.
 */

/**
 * `fn` over `items` with at most `limit` calls in flight, started in item order; resolves with
 * the results in item order. After the first rejection no further item starts; the calls in
 * flight are awaited, then the first error is thrown (so no work is left running behind it).
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit >= 1))
    throw new RangeError(`concurrency limit must be an integer >= 1 (got ${limit})`);
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw error;
  return out;
}

/** A function that runs tasks given to it with at most `limit` of them in flight, in the order they were given, across all callers. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** A shared limiter (see Limiter); a task's rejection is passed to its caller and frees the slot. */
export function createLimiter(limit: number): Limiter {
  if (!(Number.isInteger(limit) && limit >= 1))
    throw new RangeError(`concurrency limit must be an integer >= 1 (got ${limit})`);
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), else free it.
      const wake = waiting.shift();
      if (wake !== undefined) wake();
      else active--;
    }
  };
}
