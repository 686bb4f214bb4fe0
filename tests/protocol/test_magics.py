#!/usr/bin/python3
"""test_magics.py — the executor's magics, each checked by its effect on later cells,
through the real kernel (harness.py):

- %cd: a later cell's fopen of a relative path opens the file in that directory;
- %env: a later cell's getenv sees the value; listing and reading it back;
- %%file [-a]: the file Python reads back has the cell's text; the C in it does not run;
- %threads N: the BLAS thread count a later cell reads is N;
- %lib NAME: a later cell calls a function of a library the kernel does not link
  (libzstd, libsqlite3), whose value Python's ctypes/sqlite3 confirm; a missing one
  lists the paths tried;
- %include DIR: a later cell includes a header from DIR;
- %plot svg|png, scale: what show() sends;
- %timeit: "mean ± std. dev. per loop (N runs, M loops each)"; %undo; %magic;
- unknown magics: UsageError listing the known ones;
- compile errors: ename CompileError, evalue = the first diagnostic, each diagnostic once
  in the traceback with its quoted line, a column (and caret) only where it is known.
Prints "N passed, N failed".
"""
import ctypes
import os
import re
import sqlite3
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Kernel, check, check_summary  # noqa: E402

def run(k, code):
    # stop_on_error=False: requests sent right after an error are never aborted as queued.
    return k.execute(code, stop_on_error=False)


def png_size(data_b64):
    import base64
    raw = base64.b64decode(data_b64)
    return struct.unpack(">II", raw[16:24])


def test_cd_env_file(k, tmp):
    with open(os.path.join(tmp, "data.txt"), "w") as f:
        f.write("from python 123\n")
    r = run(k, "%cd " + tmp)
    check(r.status == "ok" and r.stdout.strip() == os.path.realpath(tmp), "%cd prints the new directory", r)
    r = run(k, 'FILE *fp = fopen("data.txt", "r"); char line[64] = {0};\n'
               'fgets(line, sizeof line, fp); fclose(fp); printf("%s", line);')
    check(r.status == "ok" and r.stdout == "from python 123\n", "%cd: a later cell opens a relative path there", r)
    r = run(k, "%cd")
    check(r.stdout.strip() == os.path.realpath(tmp), "%cd without a directory prints the current one", r)
    r = run(k, "%cd " + os.path.join(tmp, "no-such-dir"))
    check(r.status == "error" and r.error and "no-such-dir" in r.error["evalue"]
          and "No such file" in r.error["evalue"], "%cd to a missing directory says so", r)
    r = run(k, "%cd")
    check(r.stdout.strip() == os.path.realpath(tmp), "a failed %cd stays where it was", r)

    r = run(k, "%env CAIRN_TEST_COLOUR=deep blue")
    check(r.status == "ok", "%env NAME=VALUE", r)
    r = run(k, 'getenv("CAIRN_TEST_COLOUR")')
    check(r.result_text == '"deep blue"', "%env: a later cell's getenv sees the value", r)
    r = run(k, "%env CAIRN_TEST_COLOUR")
    check(r.stdout == "deep blue\n", "%env NAME prints the value", r)
    r = run(k, "%env CAIRN_TEST_OTHER 7")
    r = run(k, 'atoi(getenv("CAIRN_TEST_OTHER")) * 6')
    check(r.result_text == "42", "%env NAME VALUE also sets", r)
    r = run(k, "%env")
    check("CAIRN_TEST_COLOUR=deep blue\n" in r.stdout and "CAIRN_TEST_OTHER=7\n" in r.stdout,
          "%env lists the environment", r.stdout[-300:])
    r = run(k, "%env CAIRN_TEST_NEVER_SET")
    check(r.status == "error" and "not set" in (r.error or {}).get("evalue", ""), "%env of an unset name", r)

    path = os.path.join(tmp, "out", "written.c")
    os.makedirs(os.path.dirname(path))
    r = run(k, "%%file out/written.c\nint never_defined = 5;\ndouble half(double x) { return x / 2; }")
    check(r.status == "ok" and r.stdout == "Writing out/written.c\n", "%%file says what it wrote", r)
    with open(path) as f:
        text = f.read()
    check(text == "int never_defined = 5;\ndouble half(double x) { return x / 2; }\n",
          "%%file writes the rest of the cell (relative to %cd)", text)
    r = run(k, "never_defined")
    check(r.status == "error", "the C of a %%file cell does not run", r)
    r = run(k, "%%file -a out/written.c\n/* appended */")
    check(r.stdout == "Appending to out/written.c\n", "%%file -a says it appends", r)
    with open(path) as f:
        check(f.read() == text + "/* appended */\n", "%%file -a appends", path)
    r = run(k, "%%file out/written.c\nint x;")
    check(r.stdout == "Overwriting out/written.c\n", "%%file on an existing file overwrites", r)
    r = run(k, "%%file " + os.path.join(tmp, "missing-dir", "f.c") + "\nint x;")
    check(r.status == "error" and r.error["ename"] == "OSError" and "missing-dir" in r.error["evalue"],
          "%%file into a missing directory fails clearly", r)


def test_include(k, tmp):
    inc = os.path.join(tmp, "inc")
    os.makedirs(inc)
    with open(os.path.join(inc, "halves.h"), "w") as f:
        f.write("#pragma once\n#define HALVES 2\n"
                "static inline double halve(double x) { return x / HALVES; }\n")
    r = run(k, "#include <halves.h>\nhalve(8)")
    check(r.status == "error" and "halves.h" in r.error["evalue"], "a header outside the path is not found", r)
    r = run(k, "%include " + inc)
    check(r.status == "ok" and inc in r.stdout, "%include adds the directory", r)
    r = run(k, "#include <halves.h>\nhalve(84)")
    check(r.result_text == "42.0", "%include: a later cell includes a header from it", r)
    r = run(k, "HALVES * 21")
    check(r.result_text == "42", "the header's macro stays for later cells", r)
    r = run(k, "%include")
    check(inc in r.stdout, "%include without a directory lists them", r)
    r = run(k, "%include " + os.path.join(tmp, "nope"))
    check(r.status == "error" and "nope" in r.error["evalue"], "%include of a missing directory", r)


def test_threads(k):
    r = run(k, "%threads 1")
    check(r.status == "ok" and r.stdout == "threads: 1 (BLAS)\n", "%threads 1", r)
    r = run(k, "%threads")
    check(r.stdout == "threads: 1 (BLAS)\n", "%threads shows the count", r)
    r = run(k, "int openblas_get_num_threads(void);\nopenblas_get_num_threads()")
    check(r.result_text == "1", "%threads: the cell process runs with that many BLAS threads", r)
    r = run(k, "%threads 2")
    r = run(k, "openblas_get_num_threads()")
    check(r.result_text == "2", "%threads 2 reaches later cells", r)
    r = run(k, "mat P = mat_mul(mat_ones(200, 300), mat_ones(300, 100));\nmat_sum_all(P)")
    check(r.result_text == "6000000.0", "BLAS products are right after %threads", r)
    r = run(k, "%threads 0")
    check(r.status == "error" and r.error["ename"] == "UsageError", "%threads 0 is a usage error", r)


def test_lib(k):
    decl = "unsigned ZSTD_versionNumber(void);\nZSTD_versionNumber()"
    r = run(k, decl)
    check(r.status == "error" and "ZSTD_versionNumber" in r.error["evalue"],
          "before %lib, zstd's functions are not there", r)
    r = run(k, "%lib zstd")
    check(r.status == "ok" and re.match(r"lib: loaded .*/libzstd\.so\.\d+\n$", r.stdout), "%lib zstd", r)
    expected = ctypes.CDLL("libzstd.so.1").ZSTD_versionNumber()
    r = run(k, decl)
    check(r.result_text == str(expected), "%lib: a later cell calls the library", (r, expected))
    r = run(k, "ZSTD_versionNumber() / 100")
    check(r.result_text == str(expected // 100), "the library stays loaded for later cells", r)

    r = run(k, "%lib libsqlite3.so.0")
    check(r.status == "ok" and "libsqlite3.so.0" in r.stdout, "%lib by soname", r)
    r = run(k, "int sqlite3_libversion_number(void);\nsqlite3_libversion_number()")
    major, minor, patch = sqlite3.sqlite_version_info
    check(r.result_text == str(major * 1000000 + minor * 1000 + patch), "sqlite3 through %lib", r)
    r = run(k, "%lib")
    check("libzstd" in r.stdout and "libsqlite3" in r.stdout, "%lib lists the loaded libraries", r)

    r = run(k, "%lib cairn_no_such_library")
    ev = (r.error or {}).get("evalue", "")
    check(r.status == "error" and "not found" in ev and "libcairn_no_such_library.so" in ev
          and "/usr/lib/x86_64-linux-gnu" in ev, "a missing library lists the paths tried", r)
    r = run(k, "%lib /nonexistent/libfoo.so")
    check(r.status == "error" and "/nonexistent/libfoo.so" in r.error["evalue"], "%lib of a missing path", r)


def test_plot(k):
    fig = 'figure *pf = plot_figure(320, 240);\nplot_line_array(plot_subplot(pf, 0), NULL, (double[]){1, 3, 2}, 3, "y");\nshow(pf);'
    r = run(k, "%plot svg\n" + fig)
    shown = r.of_type("display_data")
    check(r.status == "ok" and len(shown) == 1 and "image/svg+xml" in shown[0]["content"]["data"]
          and "image/png" not in shown[0]["content"]["data"], "%plot svg: figures come as SVG", r)
    r = run(k, "%plot")
    check(r.stdout == "plot: format svg, scale 1\n", "%plot shows the settings", r)
    r = run(k, "%plot png scale 2\nshow(pf);")
    shown = r.of_type("display_data")
    data = shown[0]["content"]["data"] if shown else {}
    check("image/png" in data and png_size(data["image/png"]) == (640, 480),
          "%plot png scale 2: a 320x240 figure is a 640x480 PNG", r)
    r = run(k, "%plot scale 1\nshow(pf);")
    shown = r.of_type("display_data")
    data = shown[0]["content"]["data"] if shown else {}
    check("image/png" in data and png_size(data["image/png"]) == (320, 240), "%plot scale 1", r)
    r = run(k, "%config InlineBackend.figure_format = 'svg'")
    check(r.stdout == "plot: format svg, scale 1\n", "IPython's %config figure_format spelling", r)
    r = run(k, "%plot png")
    r = run(k, "%plot jpeg")
    check(r.status == "error" and r.error["ename"] == "UsageError", "%plot jpeg is a usage error", r)


def test_timeit_undo_help(k):
    r = run(k, "%timeit\ndouble acc = 0;\nfor (int i = 0; i < 1000; i++) acc += i;")
    m = re.match(r"^(\d[\d.]*) (ns|µs|ms|s) ± (\d[\d.]*) (ns|µs|ms|s) per loop "
                 r"\(mean ± std\. dev\. of (\d+) runs?, (\d+) loops? each\)\n$", r.stdout)
    check(r.status == "ok" and m is not None, "%timeit prints IPython's format", r)
    if m:
        check(int(m.group(5)) == 7 and int(m.group(6)) > 1, "%timeit: 7 runs of an automatic loop count", m.groups())
    r = run(k, "%timeit -n 5 -r 3\ndouble acc2 = 1;")
    check(re.search(r"of 3 runs, 5 loops each\)", r.stdout) is not None, "%timeit -n 5 -r 3", r)
    r = run(k, "acc")
    check(r.status == "error", "%timeit does not keep what it timed", r)
    # IPython's other forms: code on the magic's line, and the cell magics.
    r = run(k, "%timeit -n 4 -r 2 double one_line = 2 * 21;")
    check(re.search(r"of 2 runs, 4 loops each\)\n$", r.stdout) is not None, "%timeit code on its own line", r)
    r = run(k, "%%timeit -r 3\ndouble cell_acc = 0;\nfor (int i = 0; i < 100; i++) cell_acc += i;")
    check(r.status == "ok" and re.search(r"of 3 runs, \d+ loops each\)\n$", r.stdout) is not None, "%%timeit", r)
    r = run(k, "%%time\ndouble timed_sum = 0;\nfor (int i = 0; i < 1000; i++) timed_sum += i;\ntimed_sum")
    check(r.status == "ok" and re.match(r"^time: .+ wall, .+ cpu \(compile .+\)\n$", r.stdout) is not None
          and r.result_text == "499500.0", "%%time shows the time and the value", r)
    r = run(k, "%time double kept_by_time = 6;")
    check(r.status == "ok" and r.stdout.startswith("time: "), "%time code on its own line", r)
    r = run(k, "kept_by_time * 7")
    check(r.result_text == "42.0", "%time keeps what it ran (like IPython)", r)
    r = run(k, "%timeit")
    check(r.status == "error" and "needs C code to time" in r.error["evalue"], "%timeit without code", r)

    run(k, "int undo_probe = 1;")
    run(k, "undo_probe = 99;\nint undo_new = 3;")
    r = run(k, "%undo")
    check(r.status == "ok" and "undo" in r.stdout, "%undo", r)
    r = run(k, "undo_probe")
    check(r.result_text == "1", "%undo restores the value before the last cell", r)
    r = run(k, "undo_new")
    check(r.status == "error", "%undo drops what the last cell defined", r)

    # The front completes from the names each done carries (omitted when unchanged):
    # after %undo the names of the undone cell are gone, a plain statement keeps them.
    def completions(prefix):
        rep = k.request("complete_request", {"code": prefix, "cursor_pos": len(prefix)})
        return sorted(m for m in rep["content"]["matches"] if m.startswith(prefix))
    run(k, "int zz_first = 1;")
    run(k, "int zz_second = 2;")
    check(completions("zz_") == ["zz_first", "zz_second"], "completion sees both names", completions("zz_"))
    run(k, "zz_first = 5;")
    check(completions("zz_") == ["zz_first", "zz_second"], "a statement keeps the names", completions("zz_"))
    run(k, "%undo")
    check(completions("zz_") == ["zz_first", "zz_second"], "%undo of a statement keeps the names", completions("zz_"))
    run(k, "%undo")
    run(k, "int zz_third = 3;")
    run(k, "%undo")
    check(completions("zz_") == ["zz_first", "zz_second"], "%undo drops the undone cell's name from completion",
          completions("zz_"))

    # %undo returns to the executor from before the last cell: a setting made before
    # that cell stays, one made after it goes with it.
    run(k, "%env CAIRN_UNDO_PROBE=before")
    run(k, "int undo_probe2 = 1;")
    run(k, "%env CAIRN_UNDO_PROBE=after")
    run(k, "%undo")
    r = run(k, 'getenv("CAIRN_UNDO_PROBE")')
    check(r.result_text == '"before"', "%undo keeps settings made before the undone cell only", r)

    r = run(k, "%magic")
    for name in ("%cd", "%env", "%lib", "%include", "%threads", "%plot", "%timeit", "%undo", "%%file", "%onnx"):
        check(re.search(r"^  " + re.escape(name) + r"\b.*\S", r.stdout, re.M) is not None,
              "%magic explains " + name, r.stdout)

    r = run(k, "%lsmagic")
    for name in ("%lib", "%include", "%threads", "%env", "%cd", "%plot", "%%file", "%magic", "%timeit", "%undo",
                 "%runs", "%cluster", "%onnx"):
        check(re.search(r"(^  |, )" + re.escape(name) + r"\b", r.stdout, re.M) is not None, "%lsmagic lists " + name, r.stdout)

    r = run(k, "%frobnicate 3")
    ev = (r.error or {}).get("evalue", "")
    check(r.status == "error" and r.error["ename"] == "UsageError" and "unknown magic %frobnicate" in ev,
          "an unknown magic is a UsageError naming it", r)
    for name in ("%cd", "%lib", "%timeit", "%whos", "%%file", "%lsmagic", "%onnx"):
        check(name in ev, "the unknown-magic message lists " + name, ev)
    r = run(k, "%%bash\nls")
    check(r.status == "error" and "unknown cell magic %%bash" in r.error["evalue"], "an unknown cell magic", r)


def test_compile_errors(k):
    r = run(k, "int fine = 1;\nint broken = undefined_name + 1;")
    err = r.error or {}
    tb = err.get("traceback", [])
    check(err.get("ename") == "CompileError", "CompileError", r)
    check(err.get("evalue") == "line 2, column 14: 'undefined_name' undeclared",
          "evalue: the first diagnostic with its known column", err.get("evalue"))
    check(not any(line.startswith("CompileError") for line in tb), "no head line repeating the evalue", tb)
    check(sum("'undefined_name' undeclared" in line for line in tb) == 1, "the diagnostic appears once", tb)
    check(tb == ["cell [%d], line 2, column 14: error: 'undefined_name' undeclared" % r.content["execution_count"],
                 "    int broken = undefined_name + 1;",
                 "                 ^"], "traceback: diagnostic, quoted line, caret under the name", tb)

    # tcc's message names no token here; where its lexer stood gives the column (the ';').
    r = run(k, "int y = 1;\nint z = y +* ;")
    err = r.error or {}
    tb = err.get("traceback", [])
    check(err.get("ename") == "CompileError" and err.get("evalue") == "line 2, column 14: identifier expected",
          "a column found from tcc's position", err)
    check(tb[1:] == ["    int z = y +* ;", "                 ^"], "the caret under the token tcc stopped at", tb)

    # A warning and an error: each once, in order, each with its line. (An integer from a
    # pointer is an error now, as in GCC 14: the warning here is one that stays one.)
    r = run(k, 'const char *cq = "s"; char *q = cq;\nqq = 3;')
    tb = (r.error or {}).get("traceback", [])
    heads = [line for line in tb if line.startswith("cell [")]
    check(len(heads) == 2 and "warning" in heads[0] and heads[-1].endswith("error: 'qq' undeclared"),
          "warnings and errors each once, in order", tb)
    check(tb.count("    qq = 3;") == 1, "the error's line quoted once", tb)
    check(r.error and r.error["evalue"] == "line 2, column 1: 'qq' undeclared",
          "evalue is the first error, not a warning", r.error)


def main():
    tmp = tempfile.mkdtemp(prefix="cairn-magics-")
    with Kernel() as k:
        for test in (lambda: test_cd_env_file(k, tmp), lambda: test_include(k, tmp), lambda: test_threads(k),
                     lambda: test_lib(k), lambda: test_plot(k), lambda: test_timeit_undo_help(k),
                     lambda: test_compile_errors(k)):
            try:
                test()
            except Exception as e:  # a timeout or protocol failure counts, the rest still runs
                check(False, "exception: %r" % (e,))
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(check_summary())


if __name__ == "__main__":
    main()
