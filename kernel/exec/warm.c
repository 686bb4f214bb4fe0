/* warm.c — a compiler state that has parsed the prelude before the cell comes.
 *
 * Most of a trivial cell's compile is tcc reading the prelude (the runtime's and libc's
 * declarations and macros): ~3 M instructions of the ~3.8 M a cell process spent, and
 * the pages tcc's tables touch in a freshly forked process. libtcc 0.9.27 forgets the
 * prelude at the end of every tcc_compile_string, so it cannot be kept between compiles.
 * Instead the executor starts a compile of the prelude followed by a marker line,
 * `#warning cairn-warm`, and stops inside it: tcc reports the warning synchronously, in
 * the middle of its parse, and the error callback switches away from tcc's stack
 * (swapcontext; tcc runs on a stack of its own). The parse stays there, half done, in
 * the executor's memory while it serves requests. A cell process, a fork of the
 * executor, has the same half-done parse: it switches back into the callback, which puts
 * the unit's text (after its `#include "cairn.h"`) right after the marker line in tcc's
 * input buffer, and tcc goes on reading it as if it had always been there. The executor's
 * own copy is untouched, so the next cell process finds it waiting too; an executor made
 * by a committed cell prepares a new one when it has nothing to do (after its reply).
 *
 * What the text relies on, checked each time: the top-level input buffer of
 * tcc_compile_string holds the whole string, the lexer's next byte (`file->buf_ptr`) is
 * the newline that ends the marker line, and the buffer ends with tcc's end-of-buffer
 * byte; the unit fits in the blank room left after the marker. tcc holds a lock while it
 * compiles (tcc_enter_state/tcc_exit_state), released while the parse waits; while it
 * waits no other compile may run in the process (tcc's globals hold the parse): a plain
 * compile first finishes it with nothing more to read (warm_forget).
 * Not in AddressSanitizer builds (stack switching); CAIRN_WARM=0 turns it off. */
#include "exec_internal.h"

#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <valgrind/valgrind.h>

#if defined(__SANITIZE_ADDRESS__)
#define WARM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WARM_SANITIZED 1
#endif
#endif
#ifndef WARM_SANITIZED
#define WARM_SANITIZED 0
#endif

/* libtcc.a's own (tcc.h): the compile lock, and the lexer's input (see compile.c). */
void tcc_enter_state(TCCState *s1);
void tcc_exit_state(void);
struct tcc_buffered_file_head {
    unsigned char *buf_ptr;
    unsigned char *buf_end;
};
extern struct tcc_buffered_file_head *tcc_lexer_file __asm__("file");

#define WARM_STEP "#warning cairn-warm-step"
#define WARM_END "#warning cairn-warm-end"
#define WARM_ROOM ((size_t)64 << 10) /* blank bytes after the end marker: the largest unit tail */
#define WARM_STACK ((size_t)16 << 20) /* tcc recurses on nested expressions */
#define CH_EOB '\\'                  /* tcc's end-of-buffer byte */

/* PARSING: the executor runs the parse; PAUSED: it stopped at a step because a request
 * came; WAITING: it reached the end marker; FINISHING: a cell process runs it on. */
enum { WARM_NONE, WARM_PARSING, WARM_PAUSED, WARM_WAITING, WARM_FINISHING, WARM_OFF };

static struct {
    int state;
    TCCState *s;
    ucontext_t caller, parser;
    unsigned char *stack;
    char *text;                 /* prelude + end marker + room (tcc copies it) */
    const char *tail;           /* the unit's text while finishing */
    size_t room_size;           /* room after the end marker in tcc's buffer */
    void (*diag)(void *, const char *);
    void *opaque;
    int rc;
    int trouble;                /* the prelude gave a diagnostic, or the buffer was not as expected */
    int unpaused;               /* a spare cell process: no requests to serve meanwhile */
} warm;

/* Switch back to the caller until resumed (tcc's lock is not held meanwhile). */
static void warm_suspend(int state)
{
    warm.state = state;
    tcc_exit_state();
    swapcontext(&warm.parser, &warm.caller);
    tcc_enter_state(warm.s);
}

static int request_waiting(void)
{
    if (warm.unpaused)
        return 0;
    struct pollfd p = {exec_g.fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

static void warm_diagnostic(void *opaque, const char *msg)
{
    (void)opaque;
    if (warm.state == WARM_PARSING || warm.state == WARM_FINISHING) {
        const char *w = strstr(msg, "#warning cairn-warm-");
        if (w && strcmp(w, WARM_STEP) == 0) {
            if (warm.state == WARM_PARSING && request_waiting())
                warm_suspend(WARM_PAUSED); /* the executor serves; a cell process may go on */
            return;
        }
        if (w && strcmp(w, WARM_END) == 0) {
            struct tcc_buffered_file_head *f = tcc_lexer_file;
            if (!f || !f->buf_ptr || f->buf_ptr[0] != '\n' || f->buf_end[0] != CH_EOB ||
                (size_t)(f->buf_end - f->buf_ptr) < WARM_ROOM) {
                warm.trouble = 1;
                return; /* tcc reads the blank room and ends; warm_prepare gives up */
            }
            unsigned char *room = f->buf_ptr + 1;
            warm.room_size = (size_t)(f->buf_end - room);
            if (warm.state == WARM_PARSING)
                warm_suspend(WARM_WAITING);
            /* A cell process (warm_finish): its unit goes right after the marker line. */
            size_t n = strlen(warm.tail);
            if (n >= warm.room_size) {
                warm.trouble = 1; /* checked by warm_finish; cannot happen */
                n = 0;
            }
            memcpy(room, warm.tail, n);
            room[n] = CH_EOB;
            f->buf_end = room + n;
            return;
        }
    }
    if (warm.state == WARM_PARSING) {
        warm.trouble = 1; /* the prelude parses without a word in every unit; not here */
        return;
    }
    if (warm.diag)
        warm.diag(warm.opaque, msg);
}

static void warm_parse(void)
{
    warm.rc = tcc_compile_string(warm.s, warm.text);
    /* returns to warm.caller (uc_link) */
}

/* Run the executor's parse on until it waits at the end, pauses, or fails. */
static void warm_run(void)
{
    warm.state = WARM_PARSING;
    swapcontext(&warm.caller, &warm.parser);
    if ((warm.state != WARM_WAITING && warm.state != WARM_PAUSED) || warm.trouble) {
        /* The parse ended without stopping at the marker (or saw something it should
         * not have): this tcc does not work the way warm.c needs. */
        if (warm.state == WARM_PARSING)
            tcc_delete(warm.s);
        warm.s = NULL;
        warm.state = WARM_OFF;
        if (getenv("CAIRN_PRELUDE_DEBUG"))
            fprintf(stderr, "warm: the prelude did not stop at its marker; off\n");
    }
}

static int warm_possible(void)
{
    if (WARM_SANITIZED)
        return 0;
    const char *env = getenv("CAIRN_WARM");
    return !(env && strcmp(env, "0") == 0);
}

void warm_prepare(void)
{
    if (warm.state == WARM_PAUSED && !request_waiting()) {
        warm_run();
        return;
    }
    if (warm.state != WARM_NONE)
        return;
    if (!warm_possible()) {
        warm.state = WARM_OFF;
        return;
    }
    if (exec_g.cflags || exec_g.ninclude > 0)
        return; /* units then include the real headers; maybe later */
    prelude_prepare();
    cell_before_tcc = warm_forget; /* headers a cell includes are preprocessed by tcc */
    char *prelude = prelude_warm_text();
    if (!prelude) {
        warm.state = WARM_OFF;
        return;
    }
    if (!warm.stack) {
        void *p = mmap(NULL, WARM_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            free(prelude);
            warm.state = WARM_OFF;
            return;
        }
        mprotect(p, 4096, PROT_NONE); /* an overflow faults instead of writing below */
        warm.stack = p;
        VALGRIND_STACK_REGISTER(warm.stack, warm.stack + WARM_STACK);
    }
    if (!warm.text) {
        /* Made once; every executor of the session inherits it. */
        size_t pl = strlen(prelude);
        static const char marker[] = "\n" WARM_END "\n";
        warm.text = malloc(pl + sizeof marker - 1 + WARM_ROOM + 1);
        if (warm.text) {
            memcpy(warm.text, prelude, pl);
            memcpy(warm.text + pl, marker, sizeof marker - 1);
            memset(warm.text + pl + sizeof marker - 1, ' ', WARM_ROOM);
            warm.text[pl + sizeof marker - 1 + WARM_ROOM] = '\0';
        }
    }
    free(prelude);
    TCCState *s = warm.text ? tcc_new() : NULL;
    if (!s) {
        warm.state = WARM_OFF;
        return;
    }
    tcc_set_error_func(s, NULL, warm_diagnostic);
    compile_setup_state(s);
    warm.s = s;
    warm.trouble = 0;
    warm.diag = NULL;
    getcontext(&warm.parser);
    warm.parser.uc_stack.ss_sp = warm.stack + 4096;
    warm.parser.uc_stack.ss_size = WARM_STACK - 4096;
    warm.parser.uc_link = &warm.caller;
    makecontext(&warm.parser, warm_parse, 0);
    warm_run();
}

void warm_prepare_unpaused(void)
{
    warm.unpaused = 1;
    warm_prepare();
}

int warm_live(void)
{
    return warm.state == WARM_WAITING || warm.state == WARM_PAUSED;
}

TCCState *warm_finish(const char *tail, void (*diag)(void *, const char *), void *opaque, int *rc)
{
    if (!warm_live() || strlen(tail) >= WARM_ROOM)
        return NULL;
    warm.tail = tail;
    warm.diag = diag;
    warm.opaque = opaque;
    warm.state = WARM_FINISHING;
    swapcontext(&warm.caller, &warm.parser);
    /* tcc_compile_string returned (warm_parse ended). */
    TCCState *s = warm.s;
    warm.s = NULL;
    warm.tail = NULL;
    warm.state = WARM_NONE; /* this process may prepare another one later */
    *rc = warm.rc;
    return s;
}

void warm_forget(void)
{
    /* tcc's globals hold the waiting parse (symbol and macro stacks, the input): it is
     * finished with nothing more to read, so tcc cleans them up as after any compile. */
    if (warm_live()) {
        int rc;
        TCCState *s = warm_finish("", NULL, NULL, &rc);
        if (s)
            tcc_delete(s);
    }
}
