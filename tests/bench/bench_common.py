"""bench_common.py — what the benchmark scripts share: timing a Python peer, and running
one of the C benchmark programs (tests/bench/*.c), which print `NAME SECONDS` a line."""
import subprocess
import time


def time_python(fn, reps):
    """Seconds of each of reps calls of fn, after one warm-up call."""
    fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = fn()
        out.append(time.perf_counter() - t0)
        del r
    return out


def run_c(exe, name, reps):
    """Run `exe name reps`; its output lines `WORD VALUE` as {WORD: [VALUE, ...]}."""
    res = subprocess.run([exe, name, str(reps)], capture_output=True, text=True, check=True)
    values = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                values.setdefault(parts[0], []).append(float(parts[1]))
            except ValueError:
                pass
    return values
