#!/usr/bin/env bash
# The production build and start, as an operator runs them: `npm run build` here, then in a clean
# folder holding only the package files and dist/, `npm ci --omit=dev` and `npm run start:production`
# (compiled JavaScript, no tsx, no dev dependencies) with the demo off; /readyz must answer 200
# within 60 s, and SIGTERM must stop it cleanly. Every wait is bounded. Every department adapter is a
# package, built into dist/ (dist/packages/<name>/, dist/adapters/<name>/) and not linked by npm ci:
# one department names its package (the MCA marriage registry), one the shipped kind an older
# departments file names (`"adapter": "amr-enterprise"`, standing for @onewindow/adapter-amr-enterprise).
# The start must load both, check their adapter interface versions and say so in the log.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run build
folder=$(mktemp -d)
log="$folder/gateway.log"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$folder"
}
trap cleanup EXIT
cp -r package.json package-lock.json dist "$folder/"
(cd "$folder" && npm ci --omit=dev --no-audit --no-fund)
if [ -e "$folder/node_modules/tsx" ] || [ -e "$folder/node_modules/typescript" ]; then
  echo "dev dependencies were installed by npm ci --omit=dev" >&2
  exit 1
fi
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# The start:production script's command itself (not through npm, which does not pass SIGTERM on to
# the gateway reliably), so the signal reaches the gateway as a process manager's would.
start_command=$(node -p 'require("./package.json").scripts["start:production"]')
departments='[{"code":"MCA","name":"Civil affairs marriage registry","adapterPackage":"@onewindow/adapter-mca-marriage",
  "baseUrl":"https://hy.mzt.example.gov.cn","options":{"appId":"onewindow","appKey":{"$env":"MCA_APP_KEY"}}},
 {"code":"AMR","name":"Enterprise registry","adapter":"amr-enterprise","baseUrl":"https://qydj.scjg.example.gov.cn",
  "options":{"wsUsername":"onewindow","wsPassword":{"$env":"AMR_WS_PASSWORD"}}}]'
(cd "$folder" && exec env -u DATABASE_URL ONEWINDOW_DEMO=false PORT="$port" DATA_DIR="$folder/data" \
  DEPARTMENTS_JSON="$departments" MCA_APP_KEY=production-start-check-key AMR_WS_PASSWORD=production-start-check \
  $start_command) >"$log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then ready=yes; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
if [ -z "$ready" ]; then
  echo "the production start did not become ready; its log:" >&2
  cat "$log" >&2
  exit 1
fi
curl -sf "http://127.0.0.1:$port/readyz"; echo
kill -TERM "$pid"
for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then echo "the gateway did not stop on SIGTERM within 30 s" >&2; exit 1; fi
# Checked once the gateway has stopped: its log is buffered (LOG_BUFFER_BYTES) and flushed on exit.
for package in @onewindow/adapter-mca-marriage @onewindow/adapter-amr-enterprise; do
  if ! grep -q "\"adapterPackage\":\"$package\".*\"adapter package loaded\"" "$log"; then
    echo "the adapter package $package was not loaded; the gateway's log:" >&2
    cat "$log" >&2
    exit 1
  fi
done
echo "production build and start: ready on /readyz with production dependencies only and adapter packages (by name and by shipped kind), stopped on SIGTERM"
