#!/usr/bin/env node
// Entry point. In a clone it runs the TypeScript sources directly (Node >= 22.18
// strips types); in the installed package, which ships no sources (and Node does not
// strip types under node_modules), it runs the JavaScript that `npm run build` emits
// into dist/.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`inboxlens needs Node.js 22.19 or newer; this is ${process.version}. Run it through npm (npx inboxlens / npm run inboxlens), which uses the project's pinned Node 24.\n`);
  process.exit(2);
}
// A --domains-file batch is a long stream of small, independent jobs: run it in a
// child whose heap is bounded, so memory stays flat (V8 otherwise grows the heap
// lazily far past the live set). The live set of a batch is a few MB per job.
if (process.argv.includes('--domains-file') && !process.env.INBOXLENS_BATCH_CHILD) {
  const { spawn } = await import('node:child_process');
  const heap = process.env.INBOXLENS_BATCH_HEAP_MB || '128';
  const child = spawn(process.execPath, [`--max-old-space-size=${heap}`, '--max-semi-space-size=2', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, INBOXLENS_BATCH_CHILD: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 70);
  });
  await new Promise(() => {}); // the child's exit ends this process
}
// --version alone is answered here, before yargs or any command loads
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { readFileSync, writeSync } = await import('node:fs');
  writeSync(1, `${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  process.exit(0);
}
// V8's code cache on disk (Node's compile cache, in the OS temp dir): later runs skip
// compiling the modules they load (NODE_DISABLE_COMPILE_CACHE=1 turns it off)
{
  const { default: nodeModule } = await import('node:module');
  try { nodeModule.enableCompileCache?.(); } catch { /* no cache: only slower */ }
}
// a reader that stopped reading (`inboxlens check … --json | head -1`): stop at once, quietly,
// with the status of a process ended by SIGPIPE (128 + 13), as `yes | head` does: the run was
// cut short, so neither its findings nor a clean pass can be claimed. Exit hooks still stop the
// lab's daemons. An error writing to stderr has nowhere to be reported.
process.stdout.on('error', (e) => {
  if (e && e.code === 'EPIPE') process.exit(141);
  throw e;
});
process.stderr.on('error', () => {});
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});
const { existsSync } = await import('node:fs');
const fromSource = !import.meta.url.includes('/node_modules/') && existsSync(new URL('../src/cli/main.ts', import.meta.url));
const root = fromSource ? '../src' : '../dist/src';
const ext = fromSource ? 'ts' : 'js';
const { main } = await import(`${root}/cli/main.${ext}`);
const { redact } = await import(`${root}/util/redact.${ext}`);
try {
  const code = await main();
  process.exitCode = code;
} catch (e) {
  // a bug, not the user's fault: one line, and the stack only when asked for
  process.stderr.write(redact(`inboxlens: internal error: ${e && e.message ? e.message : e}\n`));
  if (process.env.INBOXLENS_DEBUG) process.stderr.write(redact(`${e && e.stack}\n`));
  process.exitCode = 70;
}
