// A counting semaphore: the one way this project caps work in flight.
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  readonly limit: number;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency must be a whole number >= 1, got ${limit}`);
    this.limit = limit;
  }

  /**
   * Run `fn` once a slot is free. `first`: wait at the head of the queue, not the
   * tail — for follow-up work of a task already under way (a listing's TXT reason),
   * which should not wait behind every task that has not started yet.
   */
  async run<T>(fn: () => Promise<T>, first = false): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => (first ? this.waiting.unshift(r) : this.waiting.push(r)));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Map over items with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const sem = new Semaphore(Math.max(1, limit));
  return Promise.all(items.map((item, i) => sem.run(() => fn(item, i))));
}
