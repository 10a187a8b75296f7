/**
 * Run `fn` over items with at most `concurrency` in flight, delivering results to `onResult`
 * in input order (so JSON Lines output matches the order of the arguments).
 */
export async function orderedMap<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  onResult: (result: PromiseSettledResult<R>, item: T, index: number) => void | Promise<void>,
): Promise<void> {
  const results = new Map<number, PromiseSettledResult<R>>();
  let next = 0;
  let emit = 0;
  const flush = async (): Promise<void> => {
    while (results.has(emit)) {
      const r = results.get(emit)!;
      results.delete(emit);
      await onResult(r, items[emit], emit);
      emit++;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results.set(i, { status: 'fulfilled', value: await fn(items[i], i) });
      } catch (reason) {
        results.set(i, { status: 'rejected', reason });
      }
      await flush();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  await flush();
}
