#!/usr/bin/env bash
# Runs a browser test (default notebook_ui.test.mjs; or the file named as $1) with node's test runner.
# Meson calls it with CAIRN_KERNEL set to the built kernel. It installs playwright-core
# (package-lock.json) into tests/browser/node_modules when missing, and skips (exit 77,
# meson's SKIP) only when node, npm, Chromium or the Jupyter Notebook server is absent.
set -uo pipefail
cd "$(dirname "$0")"

CHROMIUM=${CAIRN_CHROMIUM:-/usr/bin/chromium}
for need in node npm; do
  command -v "$need" >/dev/null || { echo "SKIP: '$need' is not installed (tests/setup.sh installs nodejs)"; exit 77; }
done
[ -x "$CHROMIUM" ] || { echo "SKIP: no Chromium at $CHROMIUM (tests/setup.sh installs chromium)"; exit 77; }
[ -x /usr/bin/jupyter-notebook ] || { echo "SKIP: no /usr/bin/jupyter-notebook (tests/setup.sh installs jupyter-notebook)"; exit 77; }

if [ ! -f node_modules/playwright-core/package.json ]; then
  echo "browser: installing playwright-core (npm ci)"
  npm ci --no-audit --no-fund || { echo "browser: npm ci failed"; exit 1; }
fi
exec node --test --test-reporter=spec "${1:-notebook_ui.test.mjs}"
