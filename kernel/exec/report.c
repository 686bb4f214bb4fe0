/* report.c — the `done` error of a cell process that died, as the user reads it.
 *
 * The parent executor turns what the report page says (signal, fault address, cell
 * frames, stack overflow) and how the process ended (exit status, signal, an interrupt
 * that had to be killed) into ename / evalue / traceback. Cell frames get their line
 * numbers and quoted source (lines.c); code outside cells is named with dladdr — the
 * libraries sit at the same addresses in parent and child. */
#include "exec_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Traceback lines for the cell frames recorded in r, outermost first, each with its
 * line and the quoted source line: "cell [4], line 2" / "    poke(0);". Frames of the
 * running cell use current_source/current_code when this process does not have its
 * code region (the parent of a crashed cell process). */
json_t *frames_traceback(const exec_report *r, const char *current_source, const char *current_code)
{
    json_t *tb = json_array();
    int lines[REPORT_FRAMES] = {0};
    int done[REPORT_FRAMES] = {0};
    for (int i = 0; i < r->nlines; i++) {
        if (done[i])
            continue;
        const char *source = NULL, *code = NULL;
        if (!code_region_texts(r->line_region[i], &source, &code)) {
            source = current_source && current_source[0] ? current_source : NULL;
            code = current_code;
        }
        uintptr_t offsets[REPORT_FRAMES];
        int idx[REPORT_FRAMES], m = 0;
        for (int j = i; j < r->nlines; j++)
            if (!done[j] && r->line_region[j] == r->line_region[i]) {
                offsets[m] = r->line_address[j] - r->line_region[j];
                idx[m++] = j;
                done[j] = 1;
            }
        int found[REPORT_FRAMES];
        lines_lookup(source, offsets, m, found);
        for (int k = 0; k < m; k++)
            lines[idx[k]] = found[k];
    }
    for (int i = r->nlines - 1; i >= 0; i--) {
        if (!lines[i])
            continue;
        const code_function *f = code_find(r->line_address[i]);
        char head[256];
        if (f && !f->is_entry)
            snprintf(head, sizeof head, "  cell [%d], line %d, in %s", r->line_cell[i], lines[i], f->name);
        else
            snprintf(head, sizeof head, "  cell [%d], line %d", r->line_cell[i], lines[i]);
        json_array_append_new(tb, json_string(head));
        const char *source = NULL, *code = NULL;
        if (!code_region_texts(r->line_region[i], &source, &code))
            code = current_code;
        const char *p = code;
        for (int l = 1; p && l < lines[i]; l++) {
            p = strchr(p, '\n');
            if (p)
                p++;
        }
        if (p) {
            while (*p == ' ' || *p == '\t')
                p++;
            char text[512];
            snprintf(text, sizeof text, "    %.*s", (int)strcspn(p, "\n"), p);
            json_array_append_new(tb, json_string(text));
        }
    }
    if (json_array_size(tb) > 0)
        json_array_insert_new(tb, 0, json_string("Traceback (most recent call last):"));
    return tb;
}

/* "1.5 GiB" */
static void format_bytes(size_t n, char *buf, size_t size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* The cell replaced its process with another program (execv & co., guard.c). */
static json_t *describe_exec(exec_report *r, int status)
{
    char ev[1024], how[128];
    if (WIFEXITED(status))
        snprintf(how, sizeof how, "which exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status) && crash_signal_name(WTERMSIG(status)))
        snprintf(how, sizeof how, "which was ended by %s", crash_signal_name(WTERMSIG(status)));
    else
        snprintf(how, sizeof how, "which was ended by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    snprintf(ev, sizeof ev,
             "the cell ran exec(\"%.300s\"): that program replaced the cell's process, %s; "
             "a cell that wants to run a program and go on can use system() or fork()",
             r->exec_path, how);
    json_t *tb = json_array();
    json_array_append_new(tb, json_string("The cell was not kept: the session is as it was before it."));
    return done_error("ExecError", ev, tb);
}

json_t *describe_death(exec_report *r, int status, int number, const char *code)
{
    char ev[2048], line[2048];
    json_t *tb = json_array();
    if (r->exec_path[0]) {
        json_decref(tb);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) { /* only the interrupt sends it */
            json_t *t = json_array();
            json_array_append_new(t, json_string("The cell was not kept: the session is as it was before it."));
            return done_error("KeyboardInterrupt", "interrupted (the program the cell exec'd was stopped)", t);
        }
        return describe_exec(r, status);
    }
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        char en[32];
        snprintf(en, sizeof en, "exit(%d)", code);
        snprintf(ev, sizeof ev, "the cell called exit(%d); its process ended", code);
        json_array_append_new(tb, json_string("The cell was not kept: the session is as it was before it."));
        return done_error(en, ev, tb);
    }
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if ((sig == SIGKILL || sig == SIGINT) && r->interrupt_requested) {
        json_array_append_new(tb, json_string("The cell did not stop in time and was killed; "
                                              "the session is as it was before it."));
        return done_error("KeyboardInterrupt", "interrupted", tb);
    }
    const char *name = crash_signal_name(sig);
    char ename[32];
    if (name)
        snprintf(ename, sizeof ename, "%s", name);
    else
        snprintf(ename, sizeof ename, "signal %d", sig);
    char what[512];
    what[0] = '\0';
    if (r->crashed) {
        unsigned long fa = (unsigned long)r->fault_address;
        if (sig == SIGSEGV && r->stack_overflow)
            snprintf(what, sizeof what, "stack overflow (endless recursion, or a local array too big for the stack?)");
        else if (sig == SIGSEGV && r->failed_alloc && fa < r->failed_alloc + 4096) {
            /* The NULL an allocation of the cell returned (cell_malloc.c). */
            char size[32], limit[32];
            format_bytes(r->failed_alloc, size, sizeof size);
            const char *env = getenv("CAIRN_CELL_MEMORY_LIMIT");
            if (r->memory_limit) {
                format_bytes(r->memory_limit, limit, sizeof limit);
                if (r->memory_limit_env && env)
                    snprintf(what, sizeof what,
                             "invalid memory access at address 0x%lx: a NULL pointer from an allocation of %s "
                             "that failed against the cell memory limit (CAIRN_CELL_MEMORY_LIMIT=%.40s: a cell "
                             "may grow by %s)",
                             fa, size, env, limit);
                else
                    snprintf(what, sizeof what,
                             "invalid memory access at address 0x%lx: a NULL pointer from an allocation of %s "
                             "that failed against the cell memory limit (a cell may grow by %s, 80%% of the "
                             "memory available; CAIRN_CELL_MEMORY_LIMIT=SIZE changes it, 0 turns it off)",
                             fa, size, limit);
            } else {
                snprintf(what, sizeof what,
                         "invalid memory access at address 0x%lx: a NULL pointer from an allocation of %s "
                         "that failed (out of memory)",
                         fa, size);
            }
        } else if (sig == SIGSEGV && fa < 4096)
            snprintf(what, sizeof what, "invalid memory access at address 0x%lx (a NULL pointer)", fa);
        else if (sig == SIGSEGV)
            snprintf(what, sizeof what, "invalid memory access at address 0x%lx", fa);
        else if (sig == SIGFPE)
            snprintf(what, sizeof what, "%s",
                     r->si_code == FPE_INTDIV   ? "integer division by zero"
                     : r->si_code == FPE_INTOVF ? "integer overflow (INT_MIN / -1?)"
                                                : "arithmetic exception");
        else if (sig == SIGBUS)
            snprintf(what, sizeof what, "bus error at address 0x%lx (past the end of a mapped file?)", fa);
        else if (sig == SIGABRT)
            snprintf(what, sizeof what, "abort() was called (a failed assert?)");
        else if (sig == SIGILL)
            snprintf(what, sizeof what, "illegal instruction");
        else
            snprintf(what, sizeof what, "fatal signal");
    } else if (sig == SIGKILL) {
        snprintf(what, sizeof what, "the cell process was killed (out of memory?)");
    } else {
        snprintf(what, sizeof what, "the cell process was killed by %s", ename);
    }
    char where[2048];
    where[0] = '\0';
    if (r->crashed) {
        if (r->pc_in_cell) {
            snprintf(where, sizeof where, "%s", r->where);
        } else if (sig == SIGABRT && strncmp(r->where, "called from ", 12) == 0) {
            /* abort() is libc's; where it was called is what matters. */
            snprintf(where, sizeof where, "in %s", r->where + 12);
        } else if (r->pc) {
            /* The PC is outside cell code: name it (runtime, libc); the parent has the
             * same libraries at the same addresses. */
            char fn[512];
            crash_describe_address(r->pc, fn, sizeof fn);
            if (r->where[0])
                snprintf(where, sizeof where, "in %.500s, %.1000s", fn, r->where);
            else
                snprintf(where, sizeof where, "in %s", fn);
        }
    }
    if (where[0])
        snprintf(ev, sizeof ev, "%s %s", what, where);
    else
        snprintf(ev, sizeof ev, "%s in cell [%d]", what, number);
    if (r->crashed) {
        json_t *frames = frames_traceback(r, r->source, code);
        json_array_extend(tb, frames);
        json_decref(frames);
    }
    snprintf(line, sizeof line, "The cell process died of %s; the session is as it was before cell [%d] "
             "(earlier variables are intact).", ename, number);
    json_array_append_new(tb, json_string(line));
    return done_error(ename, ev, tb);
}
