/**
 * Starts `fn` for every item with at most `limit` running at once, and returns one promise per
 * item in the items' order — so callers can consume results in order while later ones still run.
 */
export function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R>[] {
  let running = 0;
  const queue: Array<() => void> = [];
  const release = () => {
    running--;
    queue.shift()?.();
  };
  const acquire = () =>
    new Promise<void>((resolve) => {
      if (running < Math.max(1, limit)) {
        running++;
        resolve();
      } else {
        queue.push(() => {
          running++;
          resolve();
        });
      }
    });
  return items.map(async (item, index) => {
    await acquire();
    try {
      return await fn(item, index);
    } finally {
      release();
    }
  });
}
