#!/usr/bin/python3
"""test_hostile.py - cells that attack the process they run in; the session survives them.

Through the real kernel (jupyter_client, tests/protocol/harness.py), each case checks the
messages that reached the client (the error or note it was told) and that the session kept
its variables and its output afterwards (kernel/exec/guard.c, kernel/exec/README.md "What a
cell can and cannot do to the session"):

- fclose(stdout) / fclose(stderr) / close(1); close(2) / freopen / `stdout = ...`: later
  cells' printf, value display and %whos still reach the notebook;
- closing every descriptor with close() (the kernel's are out of its reach) and with raw
  syscalls (the kernel's connection and its spare gone: the cell is not kept, says why,
  never hangs); a raw close of the connection alone is repaired from its spare;
- signal(SIGINT, SIG_IGN); for(;;); is stopped within 1 s of the interrupt and rolled back;
- a forked child that keeps running is reported, and is gone after shutdown and restart;
- a thread left running by a cell that succeeded is reported; later cells work;
- setrlimit: a lowered soft limit is restored (RLIMIT_CPU 1 s would kill the session),
  a lowered hard limit makes the cell not kept;
- chdir into a directory that is then deleted: a note, cells go on, %cd leaves it;
- 100 MB written to stderr: capped with a notice, the kernel answers meanwhile;
- execv("/bin/true"): the cell ends with ExecError, the session intact;
- malloc over CAIRN_CELL_MEMORY_LIMIT: the SIGSEGV on its NULL names the limit.
Prints "N passed, N failed".
"""
import os
import queue
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import subprocess  # noqa: E402

from harness import Kernel, alive, check, check_summary, kernel_binary, one_at_a_time  # noqa: E402

HEADERS = ("#include <unistd.h>\n#include <fcntl.h>\n#include <signal.h>\n#include <pthread.h>\n"
           "#include <sys/resource.h>\n#include <sys/syscall.h>\n#include <sys/stat.h>\n")


def sanitized():
    out = subprocess.run(["ldd", kernel_binary()], capture_output=True, text=True).stdout
    return "libasan" in out


def session_intact(k, what):
    """x is still 41, printf reaches stdout, stderr reaches stderr, a value shows, %whos lists x."""
    r = k.execute('printf("x=%d\\n", x); fprintf(stderr, "err=%d\\n", x);')
    check(r.status == "ok" and r.stdout == "x=41\n" and r.stderr == "err=41\n",
          what + ": printf and fprintf(stderr) reach the notebook", r)
    r = k.execute("x + 1")
    check(r.status == "ok" and r.result_text == "42", what + ": a value is shown", r)
    r = k.execute("%whos")
    check(r.status == "ok" and any(line.split()[:3] == ["x", "int", "1"] for line in r.stdout.splitlines()),
          what + ": %whos lists x", r.stdout)


def ok_with_note(k, code, note, what):
    r = k.execute(code)
    check(r.status == "ok", what + ": the cell succeeds", r)
    check(note in r.stderr, what + ": the note says %r" % note, r.stderr)
    return r


def expect_error(k, code, ename, parts, what):
    r = k.execute(code, timeout=20)
    err = r.error or {}
    check(r.status == "error" and err.get("ename") == ename, what + ": ends with " + ename, r)
    for p in parts:
        check(p in err.get("evalue", ""), what + ": the message says %r" % p, err.get("evalue"))
    tb = "\n".join(err.get("traceback", []))
    check("session is as it was before" in tb, what + ": the traceback says nothing was kept", tb)
    return r


def stdio_cases(k, tmp):
    ok_with_note(k, "fclose(stdout);\nprintf(\"lost\\n\");", "stdout and stderr belong to the kernel",
                 "fclose(stdout)")
    session_intact(k, "after fclose(stdout)")
    ok_with_note(k, "fclose(stderr);", "belong to the kernel", "fclose(stderr)")
    session_intact(k, "after fclose(stderr)")
    ok_with_note(k, "close(1); close(2);", "belong to the kernel", "close(1); close(2)")
    session_intact(k, "after close(1); close(2)")
    path = os.path.join(tmp, "out.txt")
    ok_with_note(k, 'freopen("%s", "w", stdout);\nprintf("to the file\\n");' % path, "belong to the kernel",
                 "freopen(stdout)")
    with open(path) as f:
        check(f.read() == "to the file\n", "freopen: the cell's output went to its file")
    session_intact(k, "after freopen(stdout)")
    ok_with_note(k, "stdout = fopen(\"/dev/null\", \"w\");\nstderr = stdout;", "belong to the kernel",
                 "assigning stdout and stderr")
    session_intact(k, "after stdout = fopen(...)")
    r = k.execute("int dev_null = open(\"/dev/null\", O_WRONLY);\ndup2(dev_null, 1);\ndup2(dev_null, 2);")
    check(r.status == "ok", "dup2 over 1 and 2", r)
    session_intact(k, "after dup2 over 1 and 2")
    r = k.execute("fclose(stdin);\nint got = getchar();\ngot")
    check(r.status == "ok" and r.result_text == "-1", "fclose(stdin): getchar reads EOF", r)
    r = k.execute("getchar()", allow_stdin=False)
    check(r.status == "ok" and r.result_text == "-1" and "stdin is not available" in r.stderr,
          "the next cell's stdin is the kernel's again (it says why it reads EOF)", r)


def descriptor_cases(k):
    r = k.execute("int closed = 0;\nfor (int fd = 3; fd < 4096; fd++) closed += close(fd) == 0;\n"
                  "printf(\"closed %d\\n\", closed);")
    check(r.status == "ok" and r.stdout.startswith("closed "), "close() of every descriptor from 3", r)
    session_intact(k, "after closing every descriptor")
    r = k.execute("int close_range(unsigned first, unsigned last, int flags);\n"
                  "int fd_a = open(\"/dev/null\", O_RDONLY);\nint range_rc = close_range(3, ~0U, 0);\n"
                  "printf(\"%d %d\\n\", range_rc, fcntl(fd_a, F_GETFD));")
    check(r.status == "ok" and r.stdout == "0 -1\n", "close_range(3, ~0U) closes the cell's descriptors", r)
    session_intact(k, "after close_range(3, ~0U)")
    # The connection to the front alone, by a raw syscall: repaired from its spare copy.
    r = k.execute("char link[64];\nint cut = -1;\n"
                  "for (int fd = 3; fd < 4096 && cut < 0; fd++) {\n"
                  "    char path[64]; snprintf(path, sizeof path, \"/proc/self/fd/%d\", fd);\n"
                  "    ssize_t n = readlink(path, link, sizeof link - 1);\n"
                  "    if (n > 0) { link[n] = 0; if (strncmp(link, \"socket:\", 7) == 0) cut = fd; }\n"
                  "}\n"
                  "syscall(SYS_close, cut);\nprintf(\"cut %d\\n\", cut > 2);")
    check(r.status == "ok" and r.stdout == "cut 1\n", "a raw close of the kernel's socket is repaired", r)
    session_intact(k, "after a raw close of the kernel's socket")
    t0 = time.monotonic()
    expect_error(k, "x = 5;\nfor (int fd = 0; fd < 4096; fd++) syscall(SYS_close, fd);", "OSError",
                 ["connection to the kernel"], "raw close of every descriptor")
    check(time.monotonic() - t0 < 10, "the raw close is reported at once, no hang")
    session_intact(k, "after a raw close of every descriptor (rolled back)")


def interrupt_case(k):
    msg_id = k.kc.execute("x = 7;\nsignal(SIGINT, SIG_IGN);\nfor (;;);", stop_on_error=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until it runs
        try:
            m = k.kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "busy"):
            break
    time.sleep(0.5)
    t0 = time.monotonic()
    k.interrupt()
    reply = k.shell_reply(msg_id, timeout=10)
    elapsed = time.monotonic() - t0
    print("interrupt of a cell that ignores SIGINT: %.2f s" % elapsed)
    check(elapsed < 1.0, "a cell that ignores SIGINT stops within 1 s of the interrupt (%.2f s)" % elapsed)
    c = reply["content"]
    check(c.get("status") == "error" and c.get("ename") == "KeyboardInterrupt", "it is a KeyboardInterrupt", c)
    check("SIGINT" in c.get("evalue", "") and "killed" in c.get("evalue", ""),
          "the message says it ignored SIGINT and was killed", c.get("evalue"))
    k.iopub_until_idle(msg_id)
    session_intact(k, "after the SIGINT-ignoring cell (its x = 7 rolled back)")


def process_cases(k):
    r = ok_with_note(k, "pid_t kid = fork();\nif (kid == 0) { for (;;) pause(); }\nkid",
                     "still running", "a forked child that keeps running")
    kid = int(r.result_text) if r.result_text and r.result_text.isdigit() else 0
    check(kid > 0 and str(kid) in r.stderr and alive(kid), "the note names the running child", r.stderr)
    session_intact(k, "after a child was left running")
    r = ok_with_note(k, "volatile long ticks = 0;\nvoid *tick(void *a) { for (;;) { ticks++; usleep(1000); } "
                        "return a; }\npthread_t ticker;\npthread_create(&ticker, 0, tick, 0);",
                     "thread the cell started is still running", "a thread left running")
    r = k.execute("usleep(20000);\nlong seen = ticks;\nusleep(20000);\nseen == ticks")
    check(r.status == "ok" and r.result_text == "1",
          "a later cell runs in a copy without the thread (ticks does not move in it)", r)
    check("thread" not in r.stderr, "the later cell does not repeat the note", r.stderr)
    session_intact(k, "after a thread was left running")
    return kid


def limit_cases(k):
    r = ok_with_note(k, "struct rlimit cpu;\ngetrlimit(RLIMIT_CPU, &cpu);\ncpu.rlim_cur = 1;\n"
                        "setrlimit(RLIMIT_CPU, &cpu);", "RLIMIT_CPU was lowered", "soft RLIMIT_CPU lowered to 1 s")
    # Were it kept, the executor (and this cell) would get SIGXCPU after 1 s of CPU.
    r = k.execute("#include <time.h>\nclock_t until = clock() + 3 * CLOCKS_PER_SEC / 2;\n"
                  "while (clock() < until);\nprintf(\"spun\\n\");", timeout=30)
    check(r.status == "ok" and r.stdout == "spun\n", "1.5 s of CPU after the limit was restored", r)
    r = k.execute("struct rlimit files;\ngetrlimit(RLIMIT_NOFILE, &files);\nfiles.rlim_max")
    hard = r.result_text
    expect_error(k, "files.rlim_cur = files.rlim_max = 64;\nsetrlimit(RLIMIT_NOFILE, &files);", "OSError",
                 ["hard limit RLIMIT_NOFILE", "cannot be raised"], "hard RLIMIT_NOFILE lowered")
    r = k.execute("getrlimit(RLIMIT_NOFILE, &files);\nfiles.rlim_max")
    check(r.status == "ok" and r.result_text == hard, "the hard limit is the session's again", (r, hard))
    session_intact(k, "after setrlimit")


def cwd_case(k, tmp):
    d = os.path.join(tmp, "doomed")
    r = k.execute('mkdir("%s", 0700);\nchdir("%s");' % (d, d))
    check(r.status == "ok", "chdir into a new directory", r)
    os.rmdir(d)
    r = k.execute("int after_rmdir = 1;")
    check(r.status == "ok" and "working directory was deleted" in r.stderr,
          "a note says the working directory is gone", r)
    session_intact(k, "in a deleted working directory")
    r = k.execute("%%cd %s" % tmp)
    check(r.status == "ok", "%cd leaves it", r)
    r = k.execute("int elsewhere = 1;")
    check(r.status == "ok" and "deleted" not in r.stderr, "no note once elsewhere", r)


def flood_case(k):
    code = ("static char line[1024];\nmemset(line, 'e', sizeof line - 2);\nline[sizeof line - 2] = '\\n';\n"
            "for (int i = 0; i < 100 * 1024; i++) fputs(line, stderr);\nprintf(\"flooded\\n\");")
    msg_id = k.kc.execute(code, stop_on_error=False)
    time.sleep(0.2)
    info = k.kc.session.msg("kernel_info_request", {})
    t0 = time.monotonic()
    k.kc.shell_channel.send(info)
    replies, answered = {}, None
    deadline = time.monotonic() + 60
    while len(replies) < 2 and time.monotonic() < deadline:
        try:
            m = k.kc.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        pid = m["parent_header"].get("msg_id")
        if pid == info["header"]["msg_id"]:
            answered = time.monotonic() - t0
        if pid in (msg_id, info["header"]["msg_id"]):
            replies[pid] = m
    print("kernel_info answered after %.3f s while a cell wrote 100 MB to stderr" % (answered or -1))
    check(answered is not None and answered < 5, "kernel_info is answered while 100 MB go to stderr", answered)
    msgs = k.iopub_until_idle(msg_id, timeout=60)
    err = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    out = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
    check(replies.get(msg_id, {}).get("content", {}).get("status") == "ok", "the flooding cell succeeds")
    check(len(err) < 6 * 1024 * 1024 and "output truncated" in err, "stderr is capped with a notice", len(err))
    check(out == "flooded\n", "stdout of the same cell is intact", out)
    session_intact(k, "after 100 MB on stderr")


def main():
    tmp = tempfile.mkdtemp(prefix="cairn-hostile-")
    try:
        with Kernel(extra_env={"CAIRN_CELL_MEMORY_LIMIT": "1G"}) as k:
            one_at_a_time(k)
            r = k.execute(HEADERS + "int x = 41;")
            check(r.status == "ok", "define x", r)
            stdio_cases(k, tmp)
            descriptor_cases(k)
            interrupt_case(k)
            kid = process_cases(k)
            limit_cases(k)
            cwd_case(k, tmp)
            flood_case(k)
            expect_error(k, "x = 3;\nexecv(\"/bin/true\", (char *[]){\"true\", 0});", "ExecError",
                         ["/bin/true", "replaced the cell's process", "status 0"], "execv(/bin/true)")
            r = k.execute("execv(\"/nonexistent/program\", (char *[]){\"p\", 0})")
            check(r.status == "ok" and r.result_text == "-1", "an exec that fails returns -1", r)
            session_intact(k, "after exec")
            if not sanitized():  # no memory limit under AddressSanitizer (README)
                expect_error(k, "char *big = malloc((size_t)2 << 30);\nbig[0] = 1;", "SIGSEGV",
                             ["NULL", "2.0 GiB", "CAIRN_CELL_MEMORY_LIMIT=1G", "memory limit"],
                             "malloc over the memory limit")
                session_intact(k, "after a failed malloc")
        deadline = time.monotonic() + 5
        while kid and alive(kid) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(kid and not alive(kid), "the child the cell left running is gone after shutdown", kid)

        # Restart: a child that left the session's process group is gone too.
        with Kernel() as k:
            r = k.execute(HEADERS + "pid_t kid2 = fork();\nif (kid2 == 0) { setsid(); for (;;) pause(); }\nkid2")
            kid2 = int(r.result_text) if r.result_text and r.result_text.isdigit() else 0
            check(kid2 > 0 and alive(kid2), "a child in its own session is running", r)
            k.km.restart_kernel(now=False)
            k.kc.wait_for_ready(timeout=30)
            deadline = time.monotonic() + 5
            while kid2 and alive(kid2) and time.monotonic() < deadline:
                time.sleep(0.05)
            check(kid2 and not alive(kid2), "the child is gone after a restart", kid2)
            k.flush()
            r = k.execute("int fresh = 2;\nfresh * 21")
            check(r.status == "ok" and r.result_text == "42", "the restarted kernel runs cells", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check_summary()


if __name__ == "__main__":
    sys.exit(main())
