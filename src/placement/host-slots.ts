// Connections per host: a collect with thousands of seeds at one provider must
// not open thousands of connections to it at once (servers cap connections per
// client IP and per user; 20,000 at once took 39 s and 781 MB and checked no
// seed). At most `max` connections are open to one host:port; the rest wait in
// line, in order: a seed's first connection (never checked) before a seed that
// comes back for its next poll, both before an extra IDLE connection. Waiting
// costs one small record and no timer; the queue is a ring (no Array.shift).

/** Who asks for a slot, in the order they are served. */
export const SlotKind = {
  /** a seed not searched yet */
  First: 0,
  /** a seed back for its next poll */
  Again: 1,
  /** an extra connection (IDLE on INBOX): only when nobody else waits */
  Extra: 2,
} as const;
export type SlotKind = (typeof SlotKind)[keyof typeof SlotKind];

export const DEFAULT_MAX_CONNECTIONS_PER_HOST = 16;

interface Waiter {
  grant: (release: (() => void) | undefined) => void;
  done: boolean;
}

class Queue {
  private items: (Waiter | undefined)[] = [];
  private head = 0;
  push(w: Waiter): void {
    this.items.push(w);
  }
  /** the next waiter still waiting */
  take(): Waiter | undefined {
    while (this.head < this.items.length) {
      const w = this.items[this.head];
      this.items[this.head++] = undefined;
      if (w && !w.done) {
        this.compact();
        return w;
      }
    }
    this.compact();
    return undefined;
  }
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

interface Host {
  active: number;
  /** waiters not granted nor abandoned, by kind */
  waiting: [number, number, number];
  queues: [Queue, Queue, Queue];
}

export class HostSlots {
  private hosts = new Map<string, Host>();
  readonly max: number;
  constructor(max: number = DEFAULT_MAX_CONNECTIONS_PER_HOST) {
    this.max = max;
    if (!Number.isInteger(max) || max < 1) throw new Error(`HostSlots: max must be a positive integer, not ${max}`);
  }

  private host(key: string): Host {
    let h = this.hosts.get(key);
    if (!h) {
      h = { active: 0, waiting: [0, 0, 0], queues: [new Queue(), new Queue(), new Queue()] };
      this.hosts.set(key, h);
    }
    return h;
  }

  /** Connections open (granted, not released) to `key` now. */
  active(key: string): number {
    return this.hosts.get(key)?.active ?? 0;
  }

  /** A seed (first or polling again) waits for `key`: whoever holds a connection between polls should give it up. */
  contended(key: string): boolean {
    const h = this.hosts.get(key);
    return !!h && h.waiting[SlotKind.First] + h.waiting[SlotKind.Again] > 0;
  }

  /**
   * A slot for one connection to `key`: resolves with its release (call it once
   * the connection is closed; calling it twice is harmless), or with undefined
   * when `signal` fired first (the seed's watch ended while it waited).
   */
  acquire(key: string, signal: AbortSignal, kind: SlotKind = SlotKind.First): Promise<(() => void) | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const h = this.host(key);
    // a free slot means nobody waits: every release hands its slot to the next in line
    if (h.active < this.max) return Promise.resolve(this.grant(h));
    return new Promise((resolve) => {
      const w: Waiter = {
        done: false,
        grant: (r) => {
          w.done = true;
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = () => {
        if (w.done) return;
        w.done = true;
        h.waiting[kind]--;
        resolve(undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      h.waiting[kind]++;
      h.queues[kind].push(w);
    });
  }

  private grant(h: Host): () => void {
    h.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      h.active--;
      this.next(h);
    };
  }

  private next(h: Host): void {
    while (h.active < this.max) {
      let w: Waiter | undefined;
      let kind = 0;
      for (; kind < 3; kind++) {
        if (h.waiting[kind as SlotKind] > 0) w = h.queues[kind]!.take();
        if (w) break;
      }
      if (!w) return;
      h.waiting[kind as SlotKind]--;
      w.grant(this.grant(h));
    }
  }
}

/** The key connections are counted under: one server endpoint. */
export const slotKey = (host: string, port: number): string => `${host.toLowerCase()}:${port}`;
