// A worker thread of the parse pool (src/reports/parse-pool.ts): unpacks and
// parses one input file's bytes. An e-mail inside needs the main thread (its
// DKIM check queries DNS through the run's resolver), so it is sent back undone.
import { parentPort } from 'node:worker_threads';
import { unpack, MailNeedsMainThread, type UnpackLimits } from './unpack.ts';

parentPort!.on('message', async (m: { id: number; bytes: Uint8Array; where: string; limits: UnpackLimits }) => {
  try {
    const result = await unpack(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), m.where, { limits: m.limits, source: m.where, mailOnMainThread: true });
    parentPort!.postMessage({ id: m.id, result });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ...(e instanceof MailNeedsMainThread ? { defer: true } : { error: (e as Error).message }) });
  }
});
