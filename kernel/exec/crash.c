/* crash.c — what a dying cell process leaves behind for its parent executor.
 *
 * Before each fork the executor maps a fresh MAP_SHARED report page (exec_report). The
 * cell process's fatal-signal handlers run on an alternate stack (so a stack overflow
 * can still be reported), write the signal, fault address and the cell frames they
 * find on the stack into that page, then let the signal kill the process. The parent,
 * blocked in waitpid, reads the page and tells the user what happened and where, while
 * its own copy of the session is untouched.
 *
 * "Where" is found without unwinding information: tcc code has no CFI, and the runtime
 * is -O2 without frame pointers. Instead the handler scans the stack above the faulting
 * frame for words that point into cell code just after a call instruction — those are
 * return addresses of cell frames. Everything the handler touches was set up before the
 * cell ran; it allocates nothing and takes no lock. */
#include "exec_internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "cairn/display.h"

/* The scan reads stack words outside any C object on purpose: AddressSanitizer must not
 * instrument it (it would report the neighbours of `here` as overflows). */
#if defined(__SANITIZE_ADDRESS__)
#define NO_ASAN __attribute__((no_sanitize_address))
#else
#define NO_ASAN
#endif

static exec_report *active_report;
static uintptr_t stack_low, stack_high; /* the cell process's main stack */
static char alt_stack[64 * 1024];

exec_report *crash_report(void)
{
    return active_report;
}

exec_report *report_new(void)
{
    void *p = mmap(NULL, sizeof(exec_report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    return p; /* anonymous mappings are zero-filled */
}

void report_free(exec_report *r)
{
    if (r)
        munmap(r, sizeof *r);
}

void code_add_region(uintptr_t start, uintptr_t end, int cell, const char *source, const char *code)
{
    exec_state *g = &exec_g;
    if (g->nregions == g->capregions) {
        size_t cap = g->capregions ? g->capregions * 2 : 64;
        void *p = realloc(g->regions, cap * sizeof *g->regions);
        if (!p)
            return;
        g->regions = p;
        g->capregions = cap;
    }
    g->regions[g->nregions].start = start;
    g->regions[g->nregions].end = end;
    g->regions[g->nregions].cell = cell;
    /* Kept for line numbers in later crash reports (a few KB per cell). */
    g->regions[g->nregions].source = source ? strdup(source) : NULL;
    g->regions[g->nregions].code = code ? strdup(code) : NULL;
    g->nregions++;
}

void code_add_function(uintptr_t address, const char *name, int cell, int is_entry)
{
    exec_state *g = &exec_g;
    if (g->nfunctions == g->capfunctions) {
        size_t cap = g->capfunctions ? g->capfunctions * 2 : 256;
        void *p = realloc(g->functions, cap * sizeof *g->functions);
        if (!p)
            return;
        g->functions = p;
        g->capfunctions = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return;
    code_function *f = &g->functions[g->nfunctions++];
    f->address = address;
    f->name = copy;
    f->cell = cell;
    f->is_entry = is_entry;
}

void code_drop_texts(int cell)
{
    /* The cell's functions and region are the last ones registered (a silent cell
     * shares the number of the one before it: both count), so only the tail is read. */
    exec_state *g = &exec_g;
    for (size_t i = g->nfunctions; i-- > 0 && g->functions[i].cell == cell;)
        if (!g->functions[i].is_entry)
            return; /* a function of the cell may be on the stack of a later crash */
    for (size_t i = g->nregions; i-- > 0 && g->regions[i].cell == cell;) {
        free(g->regions[i].source);
        free(g->regions[i].code);
        g->regions[i].source = g->regions[i].code = NULL;
    }
}

int code_region_texts(uintptr_t start, const char **source, const char **code)
{
    for (size_t i = 0; i < exec_g.nregions; i++)
        if (exec_g.regions[i].start == start) {
            *source = exec_g.regions[i].source;
            *code = exec_g.regions[i].code;
            return *source != NULL;
        }
    return 0;
}

/* Remember a cell frame for the line lookup the parent does. */
static void note_line(exec_report *r, uintptr_t address)
{
    if (r->nlines >= REPORT_FRAMES)
        return;
    for (size_t i = 0; i < exec_g.nregions; i++)
        if (address >= exec_g.regions[i].start && address < exec_g.regions[i].end) {
            r->line_address[r->nlines] = address;
            r->line_region[r->nlines] = exec_g.regions[i].start;
            r->line_cell[r->nlines] = exec_g.regions[i].cell;
            r->nlines++;
            return;
        }
}

static int in_cell_code(uintptr_t pc)
{
    for (size_t i = 0; i < exec_g.nregions; i++)
        if (pc >= exec_g.regions[i].start && pc < exec_g.regions[i].end)
            return 1;
    return 0;
}

const code_function *code_find(uintptr_t pc)
{
    size_t r;
    for (r = 0; r < exec_g.nregions; r++)
        if (pc >= exec_g.regions[r].start && pc < exec_g.regions[r].end)
            break;
    if (r == exec_g.nregions)
        return NULL;
    const code_function *best = NULL;
    for (size_t i = 0; i < exec_g.nfunctions; i++) {
        const code_function *f = &exec_g.functions[i];
        if (f->address <= pc && f->address >= exec_g.regions[r].start &&
            (!best || f->address > best->address))
            best = f;
    }
    return best;
}

/* ---- async-signal-safe string building ---- */
static void put_str(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    while (*s && n + 1 < size)
        buf[n++] = *s++;
    buf[n] = '\0';
}

static void put_int(char *buf, size_t size, long v)
{
    char tmp[24];
    int i = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do {
        tmp[i++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[i++] = '-';
    char out[24];
    for (int k = 0; k < i; k++)
        out[k] = tmp[i - 1 - k];
    out[i] = '\0';
    put_str(buf, size, out);
}

static void put_function(char *buf, size_t size, const code_function *f)
{
    if (f->is_entry) {
        put_str(buf, size, "cell [");
        put_int(buf, size, f->cell);
        put_str(buf, size, "]");
    } else {
        put_str(buf, size, "function ");
        put_str(buf, size, f->name);
        put_str(buf, size, " (defined in cell [");
        put_int(buf, size, f->cell);
        put_str(buf, size, "])");
    }
}

/* Is ret a plausible return address into cell code (just after a call)? */
NO_ASAN static int is_return_address(uintptr_t ret)
{
    if (!in_cell_code(ret))
        return 0;
    const unsigned char *p = (const unsigned char *)ret;
    /* call rel32 (e8), call *%reg (ff d0..d7), call *disp8(%reg) (ff 5x) */
    if (ret >= 5 && in_cell_code(ret - 5) && p[-5] == 0xe8)
        return 1;
    if (ret >= 2 && in_cell_code(ret - 2) && p[-2] == 0xff && (p[-1] & 0xf8) == 0xd0)
        return 1;
    if (ret >= 3 && in_cell_code(ret - 3) && p[-3] == 0xff && (p[-2] & 0xf8) == 0x50)
        return 1;
    return 0;
}

/* Fill r->where with the innermost cell frames: the PC's own function when it is in cell
 * code, then the return addresses found above sp. */
NO_ASAN void crash_where_from(exec_report *r, uintptr_t pc, uintptr_t sp)
{
    r->where[0] = '\0';
    r->nlines = 0;
    int n = 0;
    const code_function *last = NULL;
    const code_function *f = code_find(pc);
    if (f) {
        put_str(r->where, sizeof r->where, "in ");
        put_function(r->where, sizeof r->where, f);
        last = f;
        n++;
        r->pc_in_cell = 1;
        note_line(r, pc);
    }
    if (!stack_high || sp < stack_low || sp >= stack_high)
        return;
    uintptr_t limit = sp + 512 * 1024;
    if (limit > stack_high)
        limit = stack_high;
    sp &= ~(uintptr_t)7;
    for (uintptr_t a = sp; a + 8 <= limit && n < REPORT_FRAMES; a += 8) {
        uintptr_t w = *(const uintptr_t *)a;
        if (!is_return_address(w))
            continue;
        const code_function *g = code_find(w - 1);
        if (!g || g == last)
            continue;
        note_line(r, w - 1); /* inside the call instruction */
        put_str(r->where, sizeof r->where, n == 0 ? "called from " : ", called from ");
        put_function(r->where, sizeof r->where, g);
        last = g;
        n++;
    }
    r->nframes = n;
}

static void on_fatal(int signo, siginfo_t *info, void *ctx)
{
    exec_report *r = active_report;
    if (r && !r->crashed) {
        ucontext_t *uc = ctx;
        uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
        uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
        r->signo = signo;
        r->si_code = info ? info->si_code : 0;
        r->fault_address = info ? (uintptr_t)info->si_addr : 0;
        r->pc = pc;
        /* A fault just below the stack pointer, near the stack's lowest allowed address,
         * is the guard page: the stack overflowed. */
        if (signo == SIGSEGV && stack_high) {
            uintptr_t fa = r->fault_address;
            if (fa + 65536 >= sp && fa <= sp + 65536 && fa < stack_high)
                r->stack_overflow = 1;
        }
        r->write_access = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
        crash_where_from(r, pc, sp);
        r->crashed = 1;
        /* What the cell printed without a newline (`printf("step 3")` just before the
         * crash) is still in stdout's buffer: write it out, it is often the best clue. */
        if (stdout->_IO_write_base && stdout->_IO_write_ptr > stdout->_IO_write_base) {
            ssize_t n = write(1, stdout->_IO_write_base, (size_t)(stdout->_IO_write_ptr - stdout->_IO_write_base));
            if (n > 0)
                n = write(1, "\n", 1);
            (void)n;
        }
    }
    /* SA_RESETHAND restored the default action: re-raise so the process dies of it. */
    signal(signo, SIG_DFL);
    raise(signo);
}

static void on_interrupt(int signo)
{
    (void)signo;
    cairn_set_interrupted(1);
    if (active_report)
        active_report->interrupt_requested = 1;
}

void crash_install(exec_report *r)
{
    active_report = r;
    pthread_attr_t attr;
    /* The main thread's stack is where it was in the executor we forked from; asking
     * again means parsing /proc/self/maps (~0.2 ms in a long session) per cell. */
    if (!stack_high && pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            stack_low = (uintptr_t)addr;
            stack_high = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    stack_t ss = {0};
    ss.ss_sp = alt_stack;
    ss.ss_size = sizeof alt_stack;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
    struct sigaction si;
    memset(&si, 0, sizeof si);
    si.sa_handler = on_interrupt;
    si.sa_flags = SA_RESTART;
    sigemptyset(&si.sa_mask);
    sigaction(SIGINT, &si, NULL);
}

void crash_describe_address(uintptr_t pc, char *buf, size_t size)
{
    buf[0] = '\0';
    const code_function *f = code_find(pc);
    if (f) {
        put_function(buf, size, f);
        return;
    }
    Dl_info info;
    if (dladdr((void *)pc, &info) && info.dli_fname) {
        const char *lib = strrchr(info.dli_fname, '/');
        lib = lib ? lib + 1 : info.dli_fname;
        if (info.dli_sname)
            snprintf(buf, size, "%s (%s)", info.dli_sname,
                     strstr(lib, "cairn-kernel") ? "cairn runtime" : lib);
        else
            snprintf(buf, size, "%s", lib);
        return;
    }
    snprintf(buf, size, "code at %#lx", (unsigned long)pc);
}

const char *crash_signal_name(int signo)
{
    switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGPIPE: return "SIGPIPE";
    case SIGXCPU: return "SIGXCPU";
    default: return NULL;
    }
}

#if defined(__SANITIZE_ADDRESS__)
/* Sanitizer builds: the cell process installs its own handlers for fatal signals (to
 * report where a cell crashed and let the parent roll back); AddressSanitizer must let
 * it, and must not turn abort() into its own report. ASAN_OPTIONS still overrides. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allow_user_segv_handler=1:handle_abort=0";
}
#endif
