#!/usr/bin/python3
"""test_exec.py - the executor's side of a session, through the real kernel.

- stdin: scanf/fgets/getchar in a cell become input_requests; without allow_stdin the
  cell reads EOF and is told why on stderr;
- trailing expressions show as a C programmer writes values (42, 3.14, "abc", 'a' (97));
- interrupt: a loop that checks cairn_interrupted() stops and keeps what it did; a loop
  that does not is killed and its cell rolled back;
- OpenBLAS products stay right in cells forked after OpenBLAS started its threads;
- magics: %whos, %seed, %time, %timeit, %cflags, %undo (one level);
- rich output: mat_show is display_data with HTML, a trailing mat is execute_result;
- inspect/complete see live values and struct members.
Prints "N passed, N failed".
"""
import os
import queue
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Kernel, Result, check, check_summary, one_at_a_time  # noqa: E402

def execute_with_input(k, code, answers, timeout=30, prompts=None):
    """Run code with allow_stdin, answering each input_request with the next answer
    (the prompts asked are appended to `prompts` when given)."""
    started = time.monotonic()
    msg_id = k.kc.execute(code, allow_stdin=True)
    asked = 0
    deadline = time.monotonic() + timeout
    while asked < len(answers) and time.monotonic() < deadline:
        try:
            m = k.kc.get_stdin_msg(timeout=1)
        except queue.Empty:
            continue
        if m["msg_type"] == "input_request":
            if prompts is not None:
                prompts.append(m["content"]["prompt"])
            k.kc.input(answers[asked])
            asked += 1
    msgs = k.iopub_until_idle(msg_id, timeout)
    reply = k.shell_reply(msg_id, timeout)
    return Result(msg_id, reply, msgs, started), asked


def interrupt_after(k, code, delay):
    """Start code, interrupt it after delay seconds; returns (Result, seconds to idle)."""
    started = time.monotonic()
    msg_id = k.kc.execute(code, stop_on_error=False)
    time.sleep(delay)
    t0 = time.monotonic()
    k.interrupt()
    msgs = k.iopub_until_idle(msg_id, 30)
    took = time.monotonic() - t0
    reply = k.shell_reply(msg_id, 30)
    return Result(msg_id, reply, msgs, started), took


def stdin_tests(k):
    r, asked = execute_with_input(
        k, 'int a, b; char word[32];\n'
           'if (scanf("%d %d", &a, &b) != 2) printf("scanf failed\\n");\n'
           'scanf("%31s", word);\n'
           'printf("sum %d word %s\\n", a + b, word);', ["3 4", "hello"])
    check(asked == 2, "two input_requests for two lines", asked)
    check(r.status == "ok" and r.stdout == "sum 7 word hello\n", "scanf reads the replies", r)
    r, asked = execute_with_input(
        k, 'char line[64];\nfgets(line, sizeof line, stdin);\nint c = getchar();\n'
           'printf("[%s] %c\\n", strtok(line, "\\n"), c);', ["a whole line", "z"])
    check(r.status == "ok" and r.stdout == "[a whole line] z\n", "fgets and getchar", r)
    prompts = []
    r, asked = execute_with_input(k, 'int asked_n = 0;\nprintf("before\\n");\nprintf("n? ");\n'
                                     'scanf("%d", &asked_n);\nasked_n * 2', ["21"], prompts=prompts)
    check(prompts == ["n? "], "the unfinished line printed before scanf is the input prompt", prompts)
    check(r.stdout == "before\n" and r.result_text == "42", "and is not printed again", r)
    r = k.execute('int got = 5; int n = scanf("%d", &got); printf("%d %d\\n", n, got);', allow_stdin=False)
    check(r.status == "ok" and r.stdout == "-1 5\n", "without allow_stdin scanf sees EOF", r)
    check("stdin is not available" in r.stderr, "without allow_stdin the cell is told why", r.stderr)


def value_tests(k):
    cases = [
        ("42", "42"),
        ("6 * 7L", "42"),
        ("-1 + 0u", "4294967295"),
        ("3.14", "3.14"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("2.0", "2.0"),
        ("1e300 * 10", "1e+301"),
        ("2.5f", "2.5f"),
        ('"abc"', '"abc"'),
        ('"tab\\there"', '"tab\\there"'),
        ("(char)'a'", "'a' (97)"),
        ("(bool)1", "true"),
        ("(unsigned char)200", "200"),
        ("(void *)0", "NULL"),
    ]
    for code, want in cases:
        r = k.execute(code)
        check(r.status == "ok" and r.result_text == want, "value of %s shows %s" % (code, want), r)
    r = k.execute("int shown = 41;")
    r = k.execute("shown + 1")
    check(r.result_text == "42", "expression of a session variable", r)
    r = k.execute("shown")
    check(r.result_text == "41", "a lone variable", r)
    r = k.execute("shown;")
    check(r.result_text is None, "a statement shows nothing", r)
    # Values of types the cells declared: members by name, arrays by element.
    k.execute("typedef struct { double x, y; } point;\npoint pt = {1.5, -2};\n"
              "struct tagged { int id; char *name; point at; };\n"
              "struct tagged tg = {7, \"bob\", {3, 4}};\nint arr3[3] = {1, 2, 3};")
    r = k.execute("pt")
    check(r.result_text == "point {x = 1.5, y = -2.0}", "a struct value shows its members", r)
    r = k.execute("tg")
    check(r.result_text == 'struct tagged {id = 7, name = "bob", at = {x = 3.0, y = 4.0}}',
          "nested struct, string member", r)
    r = k.execute("arr3")
    check(r.result_text is not None and r.result_text.endswith("{1, 2, 3}"), "an array shows its elements", r)
    r = k.execute("void say(void) { printf(\"said\\n\"); }")
    r = k.execute("say()")
    check(r.status == "ok" and r.stdout == "said\n" and r.result_text is None,
          "a trailing call of a void function runs and shows nothing", r)


def prelude_tests(k):
    """Macros and declarations of cairn.h and libc reach cells unchanged (the executor
    parses a preprocessed copy of cairn.h, prelude.c)."""
    r = k.execute("#include <errno.h>\n#include <limits.h>\n#include <assert.h>\n"
                  "#define PASTE(a, b) a##b\n#define COUNT(...) (sizeof((int[]){__VA_ARGS__}) / sizeof(int))\n"
                  "mat pm = MAT(2, 2, 1, 2, 3, 4);\nint var1 = PASTE(1, 0) + (int)COUNT(1, 2, 3);\n"
                  "errno = 0; assert(var1 == 13);\n"
                  "printf(\"%d %d %d %.4f %d %g %d\\n\", var1, EOF, INT_MAX, M_PI, errno, "
                  "mat_get(pm, 1, 0), (int)sizeof(FILE) > 0);")
    check(r.status == "ok" and r.stdout == "13 -1 2147483647 3.1416 0 3 1\n", "libc and runtime macros", r)
    r = k.execute("#include \"cairn/mat.h\"\n#include <stdio.h>\nmat_is_empty(pm)")
    check(r.status == "ok" and r.result_text == "0", "including a header twice is harmless", r)


def huge_page_tests(k):
    """A large block a cell mallocs is advised for huge pages, so the per-cell fork stays
    cheap however much the session holds (kernel/exec/cell_malloc.c)."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            thp = f.read()
    except OSError:
        thp = ""
    if "[never]" in thp or not thp:
        return  # the machine has no transparent huge pages to use
    r = k.execute("size_t hp_n = (size_t)16 << 20;\nchar *hp = malloc(hp_n);\nmemset(hp, 1, hp_n);\n"
                  "FILE *maps = fopen(\"/proc/self/smaps\", \"r\");\nchar hp_line[512];\n"
                  "unsigned long lo = 0, hi = 0; long huge_kb = -1; int inside = 0;\n"
                  "while (fgets(hp_line, sizeof hp_line, maps)) {\n"
                  "    if (sscanf(hp_line, \"%lx-%lx \", &lo, &hi) == 2 && strchr(hp_line, '-') < strchr(hp_line, ' '))\n"
                  "        inside = (unsigned long)(hp + hp_n / 2) >= lo && (unsigned long)(hp + hp_n / 2) < hi;\n"
                  "    long kb;\n"
                  "    if (inside && sscanf(hp_line, \"AnonHugePages: %ld kB\", &kb) == 1) huge_kb = kb;\n"
                  "}\nfclose(maps);\nprintf(\"%d\\n\", huge_kb >= 8192);")
    check(r.status == "ok" and r.stdout == "1\n", "a 16 MiB malloc in a cell is backed by huge pages", r)
    r = k.execute("hp = realloc(hp, hp_n * 2);\nhp[hp_n * 2 - 1] = 2;\nfree(hp);\nprintf(\"freed\\n\");")
    check(r.status == "ok" and r.stdout == "freed\n", "realloc and free work on such blocks", r)


def user_expression_tests(k):
    r = k.execute("int ue_base = 41;", user_expressions={"plus": "ue_base + 1", "str": '"s"',
                                                          "missing": "no_such_name", "crash": "*(int *)0"})
    ue = r.content.get("user_expressions", {})
    check(ue.get("plus", {}).get("data", {}).get("text/plain") == "42", "user expression value", ue)
    check(ue.get("str", {}).get("data", {}).get("text/plain") == '"s"', "user expression string", ue)
    check(ue.get("missing", {}).get("status") == "error" and ue["missing"]["ename"] == "CompileError",
          "an undeclared name is a CompileError", ue)
    check(ue.get("crash", {}).get("ename") == "SIGSEGV", "a crashing expression is reported", ue)
    r = k.execute("ue_base")
    check(r.result_text == "41", "the session survives its user expressions", r)


def interrupt_tests(k):
    k.execute("int before_interrupt = 5;")
    r, took = interrupt_after(k, "long spins = 0;\nwhile (!cairn_interrupted()) spins++;", 0.5)
    check(r.status == "error" and r.error and r.error["ename"] == "KeyboardInterrupt",
          "a cooperative loop ends with KeyboardInterrupt", r)
    check(took < 1.0, "and stops within a second", took)
    r = k.execute("spins > 1000")
    check(r.status == "ok" and r.result_text == "1", "what the interrupted loop did is kept", r)

    r, took = interrupt_after(k, "before_interrupt = 6;\nfor (;;);", 0.5)
    check(r.status == "error" and r.error and r.error["ename"] == "KeyboardInterrupt",
          "a busy loop is killed with KeyboardInterrupt", r)
    check(took < 1.5, "within the grace period", took)
    r = k.execute("before_interrupt")
    check(r.result_text == "5", "the killed cell is rolled back", r)


def openblas_tests(k):
    r = k.execute("%seed 7\nmat P = mat_randn(600, 500);\nmat Q = mat_randn(500, 400);\nmat R1 = mat_mul(P, Q);")
    check(r.status == "ok", "first product (OpenBLAS starts its threads)", r)
    for i in range(3):
        r = k.execute("mat R%d = mat_mul(P, Q);" % (i + 2))
        check(r.status == "ok", "product in forked cell %d" % (i + 2), r)
    r = k.execute("double worst = 0;\n"
                  "for (int i = 0; i < 600; i += 37) for (int j = 0; j < 400; j += 41) {\n"
                  "    double d = 0;\n"
                  "    for (int t = 0; t < 500; t++) d += mat_get(P, i, t) * mat_get(Q, t, j);\n"
                  "    double e = fabs(d - mat_get(R4, i, j)) + fabs(mat_get(R1, i, j) - mat_get(R4, i, j));\n"
                  "    if (e > worst) worst = e;\n"
                  "}\n"
                  "worst < 1e-9")
    check(r.status == "ok" and r.result_text == "1", "products after several forks equal the naive sums", r)


def magic_tests(k):
    k.execute("mat W = mat_zeros(20, 10);\ndouble wd = 2.5;\ndouble *wbig = malloc(sizeof(double) << 20);")
    r = k.execute("%whos")
    check(re.search(r"^wbig\s+double \*\s+\d+\s+8\.0 MiB", r.stdout, re.M),
          "%whos counts what a pointer's big malloc block holds", r.stdout)
    check(r.status == "ok" and re.search(r"^W\s+mat\s+\d+\s+1\.[0-9] KiB\s+mat 20x10", r.stdout, re.M),
          "%whos lists the mat with its memory", r.stdout)
    check(re.search(r"^wd\s+double\s+\d+\s+8 B\s+2\.5", r.stdout, re.M), "%whos shows a double's value", r.stdout)
    a = k.execute("%seed 42\nrng_uniform()")
    b = k.execute("%seed 42\nrng_uniform()")
    check(a.status == "ok" and a.result_text == b.result_text and a.result_text is not None,
          "%seed reproduces the stream", (a.result_text, b.result_text))
    r = k.execute("%time\ndouble timed = 0;\nfor (int i = 0; i < 100000; i++) timed += i;")
    check(r.status == "ok" and re.search(r"time: .* wall, .* cpu \(compile .*\)", r.stdout), "%time", r)
    r = k.execute("timed")
    check(r.result_text == "4999950000.0", "%time keeps what the cell defines", r)
    r = k.execute("%timeit\nint timeit_local = 0;\nfor (int i = 0; i < 1000; i++) timeit_local += i;")
    check(r.status == "ok" and re.search(r"per loop \(mean ± std\. dev\. of \d+ runs?, \d+ loops? each\)", r.stdout), "%timeit", r)
    r = k.execute("timeit_local")
    check(r.status == "error", "%timeit does not keep what it timed (like IPython)", r)
    r = k.execute("%cflags -DCELL_N=3")
    check(r.status == "ok" and "-DCELL_N=3" in r.stdout, "%cflags sets flags", r)
    r = k.execute("CELL_N * 2")
    check(r.result_text == "6", "%cflags flags reach later cells", r)
    k.execute("%cflags none")
    r = k.execute("%nosuchmagic")
    check(r.status == "error" and r.error["ename"] == "UsageError", "an unknown magic is a UsageError", r)

    k.execute("int undo_me = 1;")
    k.execute("undo_me = 2;")
    r = k.execute("%undo")
    check(r.status == "ok" and "undo" in r.stdout, "%undo", r)
    r = k.execute("undo_me")
    check(r.result_text == "1", "%undo restores the state before the last cell", r)
    r = k.execute("%undo")
    check(r.status == "ok", "the cell that showed undo_me can be undone too", r)
    r = k.execute("%undo")
    check(r.status == "error" and r.error["ename"] == "UndoError", "only one level of undo", r)


def dangling_tests(k):
    """Introspection reads variables the user's code controls: a dangling pointer must not
    take the executor down (values are read in a forked child)."""
    r = k.execute("char *dangling = malloc((size_t)64 << 20);\nstrcpy(dangling, \"soon gone\");\nfree(dangling);\n"
                  "int alive_after = 5;")
    check(r.status == "ok", "a cell leaves a dangling pointer", r)
    r = k.execute("%whos")
    check(r.status == "ok" and re.search(r"^dangling\s+char \*.*unreadable", r.stdout, re.M)
          and re.search(r"^alive_after\s+int\s+\d+\s+4 B\s+5$", r.stdout, re.M),
          "%whos marks the dangling pointer and lists the rest", r.stdout)
    r = k.request("inspect_request", {"code": "dangling", "cursor_pos": 8, "detail_level": 0})
    text = r["content"].get("data", {}).get("text/plain", "")
    check(r["content"].get("found") and "unreadable" in text, "inspect of a dangling pointer", text)
    r = k.execute("alive_after + 1")
    check(r.result_text == "6", "the session is intact after reading a dangling pointer", r)


def display_tests(k):
    r = k.execute("mat D = mat_zeros(2, 2);\nmat_show(D);")
    disp = r.of_type("display_data")
    check(len(disp) == 1 and "text/html" in disp[0]["content"]["data"]
          and "text/plain" in disp[0]["content"]["data"], "mat_show is display_data with HTML", r)
    r = k.execute("D")
    res = r.of_type("execute_result")
    check(len(res) == 1 and "2x2" in res[0]["content"]["data"]["text/plain"], "a trailing mat is the result", r)
    r = k.execute('printf("before\\n");\nmat_show(D);\nprintf("after\\n");')
    kinds = [m["msg_type"] for m in r.outputs]
    check(kinds == ["stream", "display_data", "stream"], "stdout and displays keep their order", kinds)


def introspect_tests(k):
    k.execute("typedef struct { double x, y; } vec2;\nvec2 corner = {1.5, -2};\ndouble uniquely_named = 0.25;")
    r = k.request("complete_request", {"code": "corner.", "cursor_pos": 7})
    check(sorted(r["content"]["matches"]) == ["x", "y"], "members of a struct variable complete", r["content"])
    r = k.request("complete_request", {"code": "uniquely_n", "cursor_pos": 10})
    check("uniquely_named" in r["content"]["matches"], "session names complete", r["content"])
    r = k.request("inspect_request", {"code": "uniquely_named", "cursor_pos": 3, "detail_level": 0})
    text = r["content"].get("data", {}).get("text/plain", "")
    check(r["content"].get("found") and "0.25" in text and "double" in text, "inspect shows the live value", text)


def main():
    # MALLOC_PERTURB_ (meson sets it for tests) makes glibc fill every malloc'ed block,
    # touching its pages before the cell's malloc can advise huge pages for them.
    with Kernel(extra_env={"MALLOC_PERTURB_": "0"}) as k:
        one_at_a_time(k)
        for group in (stdin_tests, value_tests, prelude_tests, huge_page_tests, user_expression_tests, interrupt_tests, openblas_tests, magic_tests,
                      dangling_tests, display_tests, introspect_tests):
            try:
                group(k)
            except Exception as e:  # a hang or protocol error in one group fails it, not the run
                check(False, "%s raised %s: %s" % (group.__name__, type(e).__name__, e))
    return check_summary()


if __name__ == "__main__":
    sys.exit(main())
