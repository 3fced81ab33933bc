#!/usr/bin/env node
// Entry point. Runs the TypeScript sources directly (Node >= 22.18 strips types);
// a published build would point at dist/ instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`inboxlens needs Node.js 22.19 or newer; this is ${process.version}. Run it through npm (npx inboxlens / npm run inboxlens), which uses the project's pinned Node 24.\n`);
  process.exit(2);
}
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});
const { main } = await import('../src/cli/main.ts');
const { redact } = await import('../src/util/redact.ts');
try {
  const code = await main();
  process.exitCode = code;
} catch (e) {
  // a bug, not the user's fault: one line, and the stack only when asked for
  process.stderr.write(redact(`inboxlens: internal error: ${e && e.message ? e.message : e}\n`));
  if (process.env.INBOXLENS_DEBUG) process.stderr.write(redact(`${e && e.stack}\n`));
  process.exitCode = 70;
}
