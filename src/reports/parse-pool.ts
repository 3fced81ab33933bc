// Parsing on every core: the XML well-formedness check and the SAX pass are
// most of an import's time (bench/reports.ts), and each file is independent,
// so files are unpacked and parsed on worker threads while the main thread
// reads the next files and writes the database. Files that hold e-mails come
// back undone and are parsed on the main thread, where the DKIM verifier is.
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import type { UnpackLimits, UnpackResult } from './unpack.ts';

interface Job {
  resolve: (r: UnpackResult | undefined) => void;
  reject: (e: Error) => void;
}

export class ParsePool {
  private workers: Worker[] = [];
  private jobs = new Map<number, Job>();
  private seq = 0;
  private turn = 0;

  constructor(size: number) {
    const file = new URL(import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const w = new Worker(file);
      w.on('message', (m: { id: number; result?: UnpackResult; defer?: boolean; error?: string }) => {
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        if (m.error) job.reject(new Error(m.error));
        else job.resolve(m.defer ? undefined : m.result);
      });
      w.on('error', (e) => {
        for (const j of this.jobs.values()) j.reject(e);
        this.jobs.clear();
      });
      this.workers.push(w);
    }
  }

  /**
   * How many workers an import of n files is worth: none for a handful of files, and none on
   * fewer than 4 cores — on the 2-core bench machine a worker added ~40 MB (a V8 heap of its
   * own, past the 200 MB goal) and saved no time (docs/benchmarks.md); else one per core but one.
   */
  static sizeFor(n: number, cores = os.availableParallelism()): number {
    if (n < 16 || cores < 4) return 0;
    return Math.min(3, cores - 1);
  }

  get size(): number {
    return this.workers.length;
  }

  /** The file's reports, or undefined when it holds e-mails (parse those on the main thread). */
  parse(bytes: Buffer, where: string, limits: UnpackLimits): Promise<UnpackResult | undefined> {
    const id = ++this.seq;
    const w = this.workers[this.turn++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      w.postMessage({ id, bytes, where, limits });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
