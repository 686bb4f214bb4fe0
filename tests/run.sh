#!/usr/bin/env bash
# The whole test suite: set up and build (tests/setup.sh), run the unit and protocol
# tests, then the unit and protocol tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

status=0
meson test -C build --print-errorlogs --num-processes 2 || status=1

if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-asan >/dev/null || status=1
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite protocol || status=1

/usr/bin/python3 tests/summarize.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json
exit $status
