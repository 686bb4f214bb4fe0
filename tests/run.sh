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

# Fuzz the Jupyter message decoder for 20 s when clang's libFuzzer runtime is installed
# (own build directory: only the fuzz target is built there).
logs="build/meson-logs/testlog.json build-asan/meson-logs/testlog.json"
if command -v clang >/dev/null && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  [ -f build-fuzz/build.ninja ] || meson setup build-fuzz -Dfuzz=true >/dev/null
  { ninja -C build-fuzz tests/fuzz/fuzz_wire >/dev/null &&
    meson test -C build-fuzz --no-rebuild --print-errorlogs --suite fuzz; } || status=1
  logs="$logs build-fuzz/meson-logs/testlog.json"
fi

/usr/bin/python3 tests/summarize.py $logs
exit $status
