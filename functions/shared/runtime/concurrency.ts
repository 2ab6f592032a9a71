/** Bounded concurrency for the functions' batches of AWS calls. */

/** Runs `fn` over items with at most `limit` in flight; rejects with the first error after all settle. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  // The first failure, boxed: a rejection with a falsy value (undefined, null, 0, '') is a failure too.
  let failure: { readonly error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * A weighted semaphore: work of some weight (the images of a repository being cleaned) waits, first come first
 * served, until the weights in flight leave room for it. A weight above the capacity counts as the capacity:
 * it runs alone rather than never. `acquire` answers the release, which is idempotent.
 */
export class WeightedGate {
  private inFlight = 0;
  private readonly waiting: { readonly weight: number; readonly resolve: () => void }[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`WeightedGate: capacity must be at least 1, got ${capacity}`);
  }

  /** The weight now admitted. */
  get admitted(): number {
    return this.inFlight;
  }

  async acquire(weight: number): Promise<() => void> {
    const w = Math.max(1, Math.min(weight, this.capacity));
    if (this.waiting.length === 0 && this.inFlight + w <= this.capacity) this.inFlight += w;
    // Admitted by `wake` (which counts it in) when the work ahead of it has left room.
    else await new Promise<void>((resolve) => this.waiting.push({ weight: w, resolve }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= w;
      this.wake();
    };
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.inFlight + this.waiting[0]!.weight <= this.capacity) {
      const next = this.waiting.shift()!;
      this.inFlight += next.weight;
      next.resolve();
    }
  }
}
