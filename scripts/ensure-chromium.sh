#!/usr/bin/env bash
# Makes sure Debian's `chromium` is at /usr/bin/chromium for the browser e2e test
# (test/e2e/admin-page.e2e-spec.ts drives it with playwright-core; Playwright's own
# browser downloads are not used). Idempotent and quiet:
#   - already installed: does nothing;
#   - missing and root: apt-get update + install (noninteractive);
#   - missing and not root: says so and exits 0, so the test command goes on (the browser
#     test then reports the missing browser itself).
set -euo pipefail

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
say() { printf '[ensure-chromium] %s\n' "$*" >&2; }

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "$CHROMIUM is missing and this is not root: skipping (install it with: sudo apt-get install -y chromium)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "$CHROMIUM is missing and there is no apt-get here: skipping"
  exit 0
fi

say "installing Debian's chromium (once)"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  say "installing chromium failed"
  exit 1
fi
rm -f "$log"
say "chromium $("$CHROMIUM" --version 2>/dev/null | awk '{print $2}') installed"
