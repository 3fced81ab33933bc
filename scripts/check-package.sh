#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (which builds dist/), then the tarball
# installed globally into a temporary prefix and locally into a temporary project,
# on the newest Node 22 (the `node@22` npm package) and on the pinned Node 24. Each
# runtime's bin dir goes first on PATH: the installed `#!/usr/bin/env node` takes
# the first `node` it finds. Runs `inboxlens --version`, a `check` against a lab
# DNS (fixtures/zones), `inboxlens demo --json`, and the library through
# `import('inboxlens')` (and its type declarations through tsc).
# Needs what scripts/setup.sh installs (and the npm registry, for node@22).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
NODE24_BIN="$REPO/node_modules/node/bin"
[ -x "$NODE24_BIN/node" ] || { echo "check-package: run scripts/setup.sh first (no pinned Node in node_modules)" >&2; exit 1; }

tmp=$(mktemp -d)
dnspid=""
cleanup() {
  [ -n "$dnspid" ] && kill "$dnspid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== npm pack (prepack builds dist/)"
PATH="$NODE24_BIN:$PATH" npm pack --silent --pack-destination "$tmp" > "$tmp/pack.txt"
tgz="$tmp/$(tail -1 "$tmp/pack.txt")"
[ -f "$tgz" ] || { echo "check-package: npm pack wrote no tarball" >&2; exit 1; }
if tar tzf "$tgz" | grep -q '^package/src/'; then echo "check-package: the tarball ships src/ (it should ship dist/ only)" >&2; exit 1; fi

echo "== node@22 from the npm registry"
mkdir -p "$tmp/node22"
# the `node` package fetches its binary in an install script (allowed here, as in package.json)
printf '{ "name": "node22-runtime", "private": true, "allowScripts": { "node": true } }\n' > "$tmp/node22/package.json"
(cd "$tmp/node22" && npm install --silent --no-audit --no-fund --no-save node@22)
NODE22_BIN="$tmp/node22/node_modules/node/bin"
"$NODE22_BIN/node" --version

echo "== lab DNS (fixtures/zones, 0 ms)"
"$NODE24_BIN/node" scripts/fixture-dns.ts > "$tmp/dns.addr" < /dev/null &
dnspid=$!
for _ in $(seq 1 100); do [ -s "$tmp/dns.addr" ] && break; sleep 0.1; done
DNS=$(head -1 "$tmp/dns.addr")
[ -n "$DNS" ] || { echo "check-package: the fixture DNS server did not start" >&2; exit 1; }
echo "DNS at $DNS"

cat > "$tmp/lib-test.mjs" <<'JS'
// the library, as a dependency: an MX check of good.example against the lab DNS
import * as il from 'inboxlens';
const [resolver] = process.argv.slice(2);
const report = await il.check('good.example', { only: ['mx'], resolvers: [resolver], timeoutMs: 2000, retries: 1 });
const problems = il.validateReport(report);
const result = report.targets[0];
if (problems.length || result.status !== 'pass' || report.schemaVersion !== il.SCHEMA_VERSION) {
  console.error('library check failed:', problems.join('; '), JSON.stringify(result));
  process.exit(1);
}
console.log(`library: ${result.target} ${result.checks.map((c) => `${c.check}=${c.status}`).join(' ')} (schema ${report.schemaVersion})`);
JS
cat > "$tmp/lib-types.ts" <<'TS'
// the published declarations resolve: these lines type-check only with the real types
import { SCHEMA_VERSION, check, selectChecks, type Check, type Report, type CheckResult, type CheckOptions } from 'inboxlens';
export const pick = (registry: Map<string, Check>): string[] => selectChecks(registry, ['mx']).map((c) => c.id);
export const opts: CheckOptions = { only: ['mx'], resolvers: ['127.0.0.1:53'] };
export const run = (): Promise<Report> => check('example.com', opts);
export const version: Report['schemaVersion'] = SCHEMA_VERSION;
export const results: CheckResult[] = [];
// @ts-expect-error SCHEMA_VERSION is a string (were the types unresolved, it would be any and this line an error)
export const wrong: number = SCHEMA_VERSION;
TS

for rt in 22 24; do
  if [ "$rt" = 22 ]; then bin=$NODE22_BIN; else bin=$NODE24_BIN; fi
  echo "== Node $rt: $("$bin/node" --version)"
  prefix="$tmp/global$rt"
  PATH="$bin:$PATH" npm install --silent --no-audit --no-fund -g --prefix "$prefix" "$tgz"
  (
    export PATH="$prefix/bin:$bin:$PATH"
    [ "$(node --version)" = "$("$bin/node" --version)" ] || { echo "check-package: wrong node on PATH" >&2; exit 1; }
    [ "$(command -v inboxlens)" = "$prefix/bin/inboxlens" ] || { echo "check-package: inboxlens is not the installed one" >&2; exit 1; }
    v=$(inboxlens --version)
    [ "$v" = "$(node -p "require('$REPO/package.json').version")" ] || { echo "check-package: --version printed '$v'" >&2; exit 1; }
    echo "inboxlens --version: $v"
    inboxlens --help > /dev/null
    code=0
    inboxlens check good.example --resolver "$DNS" --json --no-save > "$tmp/check$rt.json" || code=$?
    [ "$code" -le 1 ] || { echo "check-package: inboxlens check exited $code" >&2; exit 1; }
    node -e "const d = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); if (d.command !== 'check' || d.targets[0].target !== 'good.example' || !d.targets[0].checks.length) process.exit(1); console.log('inboxlens check: ' + d.targets[0].checks.map((c) => c.check + '=' + c.status).join(' '))" "$tmp/check$rt.json"
    inboxlens demo --json --db "$tmp/history$rt.db" > "$tmp/demo$rt.json"
    "$NODE24_BIN/node" "$REPO/scripts/check-demo.ts" "$tmp/demo$rt.json"

    proj="$tmp/project$rt"
    mkdir -p "$proj"
    printf '{ "name": "consumer", "private": true, "type": "module" }\n' > "$proj/package.json"
    (cd "$proj" && npm install --silent --no-audit --no-fund "$tgz")
    [ "$(cd "$proj" && npx --no-install inboxlens --version)" = "$v" ] || { echo "check-package: the local bin failed" >&2; exit 1; }
    cp "$tmp/lib-test.mjs" "$proj/"
    (cd "$proj" && node lib-test.mjs "$DNS")
    if [ "$rt" = 24 ]; then
      cp "$tmp/lib-types.ts" "$proj/"
      printf '{ "compilerOptions": { "module": "nodenext", "target": "es2023", "lib": ["es2023"], "strict": true, "noEmit": true, "skipLibCheck": true, "types": [] }, "files": ["lib-types.ts"] }\n' > "$proj/tsconfig.json"
      (cd "$proj" && node "$REPO/node_modules/typescript/bin/tsc" -p .) && echo "library types: ok"
    fi
  )
done
echo "== package ok on Node 22 and 24"
