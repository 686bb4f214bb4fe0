/* exec_internal.h — what the executor's files share (not a public API).
 *
 * executor.c   the loop of the current executor: fork a cell process per execute, wait,
 *              report deaths, %undo, shutdown.
 * compile.c    libtcc: compile a translation unit in memory, bind earlier cells' symbols,
 *              keep the code in memory we own, turn diagnostics into a traceback.
 * crash.c      the report page shared by an executor and its cell process, the fatal
 *              signal handlers and the map from a code address to "function foo (cell [3])".
 * cell_io.c    the cell process's stdin (input_request) and display sink (display).
 * report.c     the `done` error of a cell process that died (what, where, lines).
 * lines.c      cell line numbers of crashed code (recompile with stabs after a crash).
 * prelude.c    cairn.h preprocessed once per session.
 * warm.c       a compiler state that parsed the prelude before the cell came (forked into it).
 * magic.c      the % lines of a cell.
 * guard.c      what a cell may not take from the session (kept descriptors, stdio,
 *              resource limits) and what it left running (children, threads).
 * cell_malloc.c  malloc as cells see it: big blocks on huge pages, remembered for %whos.
 * value_format.c values of session-declared types (structs, arrays).
 * introspect.c inspect / complete answers from the session's names and values.
 * show.c (runtime/core) formats trailing-expression values.
 *
 * Every process of the chain has its own copy of these globals (fork), which is the
 * point: a cell process changes its copy only, and becomes the next executor only after
 * its cell compiled and ran. */
#ifndef CAIRN_EXEC_INTERNAL_H
#define CAIRN_EXEC_INTERNAL_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "cell/cell.h"
#include "ipc.h"


/* Exit code of a committed executor that hands the session back to its parent (%undo). */
#define EXEC_EXIT_UNDO 77
/* Exit code of a cell process that left a prepared `done` in the report page. */
#define EXEC_EXIT_REPORTED 78

#define REPORT_DONE_MAX (240 * 1024)
#define REPORT_FRAMES 8
#define REPORT_SOURCE_MAX (512 * 1024)

/* One page per fork, MAP_SHARED between an executor (parent) and its cell process. The
 * cell process writes it (also from signal handlers); the parent reads it after waitpid. */
typedef struct exec_report {
    volatile sig_atomic_t committed;           /* the cell ran; the child is now the executor */
    volatile sig_atomic_t busy;                /* the child, as executor, runs an execute now */
    volatile sig_atomic_t shutdown;            /* the child shut the session down: exit too */
    volatile sig_atomic_t interrupt_requested; /* SIGINT reached the cell process */
    volatile sig_atomic_t crashed;             /* a fatal signal was caught: fields below valid */
    volatile sig_atomic_t prepared;            /* `done` holds the JSON of the done message */
    volatile sig_atomic_t last_count;          /* execution count being run by the child executor */
    int signo;
    int si_code;
    int stack_overflow;
    int write_access;      /* SIGSEGV: the faulting access was a write */
    uintptr_t fault_address;
    uintptr_t pc;          /* where the signal hit */
    int pc_in_cell;        /* pc is in cell code (where starts with its function) */
    /* Cell frames for line numbers, innermost first: a code address inside the frame's
     * instruction, the start of the code region of its cell, and that cell's number. */
    int nlines;
    uintptr_t line_address[REPORT_FRAMES];
    uintptr_t line_region[REPORT_FRAMES];
    int line_cell[REPORT_FRAMES];
    char source[REPORT_SOURCE_MAX]; /* the running cell's unit, as compiled ("" if too long) */
    int nframes;           /* cell frames found on the stack, innermost first */
    char where[1024];      /* "in function foo (cell [3]), called from cell [5]" (cell frames only) */
    char exec_path[256];   /* the program the cell exec'd ("" none) */
    size_t failed_alloc;   /* size of the last malloc/calloc/realloc of cell code that returned NULL */
    size_t memory_limit;   /* how much the cell process may grow (0: no limit) */
    int memory_limit_env;  /* ... set by CAIRN_CELL_MEMORY_LIMIT (else 80% of MemAvailable) */
    char done[REPORT_DONE_MAX];
} exec_report;

/* A region of code that a cell compiled (kept for the whole session). */
typedef struct code_function {
    uintptr_t address;
    char *name;
    int cell;          /* execution count of the defining cell */
    int is_entry;      /* the generated cairn_cell_N function */
} code_function;

enum { NAMES_ALL = -1, NAMES_CURRENT = -2 }; /* exec_state.names_cell besides a cell number */

typedef struct exec_state {
    int fd;                  /* exec_fd */
    cell_session *session;   /* NULL when the cell module is not linked (wrapping fallback) */
    exec_report *parent_report; /* shared with the executor that forked us, or NULL */
    pid_t prev_pid;          /* the executor kept for %undo (our parent), 0 when none */
    int last_count;          /* execution count of the last committed cell */
    ipc_reader reader;
    char *cflags;            /* extra tcc options from %cflags, or NULL */
    char **include_dirs;     /* %include directories, in order (absolute) */
    size_t ninclude;
    char **libs;             /* paths of the libraries %lib loaded (RTLD_GLOBAL) */
    size_t nlibs;
    /* MAP_SHARED by the whole chain: the hash of the names the front holds (the last
     * `names` any executor sent), so a done omits them when they did not change. */
    volatile uint64_t *front_names;
    uint64_t names_hash;     /* introspect_names_update() of this session when names_cell is NAMES_CURRENT */
    int names_cell;          /* the cell whose names changed since, NAMES_ALL or NAMES_CURRENT */
    uint64_t names_sent;     /* hash of the names this process (or its parent) last sent; 0: none */
    char plot_format[8];     /* %plot: "png"/"svg" ("" = default png) */
    double plot_scale;       /* %plot scale (0 = default 1) */
    /* code of every committed cell plus the running one */
    code_function *functions;
    size_t nfunctions, capfunctions;
    struct { uintptr_t start, end; int cell; char *source; char *code; } *regions;
    size_t nregions, capregions;
} exec_state;

extern exec_state exec_g;

/* ---- compile.c ---- */
typedef struct compiled_cell {
    void (*entry)(void);
    json_t *diagnostics; /* array of traceback lines (warnings when ok, errors otherwise) */
    char *first_error;   /* first error message with the cell's line, or NULL */
    int ok;
} compiled_cell;

/* Compile `source` (a translation unit whose cell lines are under `#line N "cell"`),
 * bind earlier symbols, relocate into kept memory and fill unit addresses. `code` is the
 * cell text (for quoting lines in diagnostics). */
int compile_cell(const char *source, const char *code, const char *entry_name, int number,
                 cell_unit *unit, compiled_cell *out);
void compiled_cell_free(compiled_cell *c);
/* Reserve the region all cells' code goes to (the first executor, before any fork). */
void compile_reserve_arena(void);

/* ---- crash.c ---- */
exec_report *report_new(void);
void report_free(exec_report *r);
/* Install SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT (alt stack) and SIGINT handlers for a cell
 * process writing into r. */
void crash_install(exec_report *r);
/* Fill r->where with the cell frames at pc (0: none) and on the stack above sp. */
void crash_where_from(exec_report *r, uintptr_t pc, uintptr_t sp);
/* Describe a code address: "function foo (cell [3])", "mat_zeros (runtime)", ... */
void crash_describe_address(uintptr_t pc, char *buf, size_t size);
/* The report page of this cell process, or NULL outside one. */
exec_report *crash_report(void);
/* The name of a signal ("SIGSEGV"). */
const char *crash_signal_name(int signo);
/* Register code compiled for cell `cell` in [start, end) with its function symbols. */
void code_add_region(uintptr_t start, uintptr_t end, int cell, const char *source, const char *code);
/* The unit source and cell text of the region starting at start, or NULL (not kept). */
int code_region_texts(uintptr_t start, const char **source, const char **code);
/* After a cell committed: forget its unit and text when it defined no function (its code
 * can never again be on the stack of a crash), so sessions do not grow by them. */
void code_drop_texts(int cell);
void code_add_function(uintptr_t address, const char *name, int cell, int is_entry);
/* The function of a cell containing pc, or NULL. */
const code_function *code_find(uintptr_t pc);

/* ---- executor.c ---- */
/* A `done` error message: ename, evalue, traceback (taken; its first line "ename: evalue"). */
json_t *done_error(const char *ename, const char *evalue, json_t *traceback);

/* ---- report.c ---- */
/* Traceback lines (outermost first, with cell lines and quoted source) for the frames in
 * r; current_source/current_code stand for the running cell when this process has not
 * got its code region (the parent of a crashed cell process). */
json_t *frames_traceback(const exec_report *r, const char *current_source, const char *current_code);
/* The `done` error for a cell process that ended before committing (status from waitpid). */
json_t *describe_death(exec_report *r, int status, int number, const char *code);

/* ---- lines.c ---- */
/* Cell line numbers of code offsets (from the start of the unit's text) of a unit:
 * compiles `source` again as an object with stabs. lines[i] = 0 where unknown. */
void lines_lookup(const char *source, const uintptr_t *offsets, int n, int *lines);

/* ---- cell_io.c ---- */
/* Replace stdin by a FILE that asks the front (input_request) when allowed. */
void cell_io_install_stdin(int allow_stdin);
/* Install the display sink that frames bundles as `display` messages. silent drops results. */
void cell_io_install_display(int silent);
/* With on, the cell's execute_result is kept back (copied) instead of sent. */
void cell_io_defer_result(int on);
/* Send (send = 1) or drop the execute_result kept back, if any. */
void cell_io_release_result(int send);
/* The cell's stdin stream, and closing it for the rest of the cell (fclose(stdin)). */
FILE *cell_io_stdin(void);
void cell_io_close_stdin(void);
/* Send a message on exec_fd after flushing stdio (keeps order with the stream pipes). */
int exec_send(json_t *msg);

/* ---- cell_malloc.c: what cells call as malloc/calloc/realloc ---- */
void *cell_malloc(size_t n);
void *cell_calloc(size_t count, size_t size);
void *cell_realloc(void *old, size_t n);
void cell_free(void *p);
/* Size of a block of 4 MiB or more that cell code allocated, or 0. */
size_t cell_block_size(const void *p);

/* ---- guard.c ---- */
/* First executor: keep 0, 1, 2 and exec_fd (moved to a high number); returns exec_fd. */
int guard_init(int exec_fd);
/* Keep a descriptor of the kernel's: moved to a high number, close-on-exec, with a spare
 * copy, out of reach of cell code's close/dup2; returns its new number. */
int guard_keep_fd(int fd, const char *what);
void guard_forget_fd(int fd);
/* The spare copy of kept descriptor fd (a pipe the front reads), else fd. */
int guard_output_fd(int fd);
/* In a cell process about to commit: restore the kernel's descriptors, streams and
 * lowered soft limits, note children and threads left running (on stderr). -1 with err
 * when the cell took something that cannot be restored (it must not be kept). */
int guard_commit(char *err, size_t errsize);
/* In a new cell process: forget what the executor's wrappers counted. */
void guard_cell_start(void);
/* In the executor before a cell: a note when the working directory was deleted. */
void guard_check_cwd(void);
/* Functions cell code gets instead of libc's (close, dup2, fclose, exec*, setrlimit,
 * pthread_create, ...), and the one for a name (NULL: none). */
typedef struct guard_wrapper {
    const char *name;
    void *fn;
} guard_wrapper;
const guard_wrapper *guard_wrappers(size_t *n);
void *guard_wrapper_for(const char *name);

/* ---- prelude.c ---- */
/* Start preprocessing cairn.h once for the session (first executor, at start). */
void prelude_start(void);
/* In an executor before it forks: finish and check the flattened prelude (once). */
void prelude_prepare(void);
/* A copy of a unit's source that includes the flattened prelude, or NULL to keep it. */
char *prelude_rewrite(const char *source);
/* The same with the whole flattened prelude (what a warm state parsed), or NULL. */
char *prelude_rewrite_whole(const char *source);
/* The prelude text a warm compiler state parses ahead of cells (malloc'ed), or NULL. */
char *prelude_warm_text(void);
/* The unit after that text (its prototypes and own lines), or NULL (malloc'ed). */
char *prelude_warm_tail(const char *source);

/* ---- warm.c ---- */
/* In an executor with nothing to do: parse the prelude into a compiler state that waits
 * for the next cell (no-op when there is one, or it cannot be made). */
void warm_prepare(void);
/* Is there a compiler state waiting in this process (finish it with warm_forget() before
 * any other tcc compile here)? */
int warm_live(void);
/* In a cell process: finish the waiting state with `tail` (the unit after the prelude;
 * diagnostics go to diag(opaque, msg)). Returns the state (the caller relocates and
 * deletes it) with *rc as tcc_compile_string's result, or NULL when there is no usable
 * state (then compile the plain way). */
struct TCCState *warm_finish(const char *tail, void (*diag)(void *, const char *), void *opaque, int *rc);
/* A plain tcc state is about to be made in this process: the waiting one is finished. */
void warm_forget(void);
/* Options every cell's state gets (compile.c): lib path, output, include paths, -nostdlib, %cflags. */
void compile_setup_state(struct TCCState *s);

/* Like warm_prepare, in a spare cell process: parse all of it, never pausing for requests
 * (they are the executor's). */
void warm_prepare_unpaused(void);

/* ---- spare.c ---- */
/* In an executor with nothing to do: fork the next cell process ahead of its request.
 * Returns 0 in the executor. Returns 1 in that process once a request came, with the
 * request (owned), its report page and the executor's pid: it then runs the cell. */
int spare_start(json_t **req, exec_report **report, pid_t *parent);
/* Is a spare waiting? */
int spare_live(void);
/* Hand an execute request to the waiting spare: its pid (and *report), or 0 when there is
 * none (then fork the plain way). */
pid_t spare_hand_over(json_t *req, exec_report **report);
/* The executor's state is about to change (or it ends): the spare is not a copy of it. */
void spare_discard(void);

/* ---- executor.c ---- */
/* The first steps of a cell process (death signal, crash handlers, memory limit). */
void cell_process_prepare(exec_report *r, pid_t parent);

/* ---- magic.c ---- */
/* Magics that change the executor, run in the order written (magics_run_action). */
enum { MAGIC_LIB = 1, MAGIC_INCLUDE, MAGIC_THREADS, MAGIC_ENV, MAGIC_CD, MAGIC_PLOT, MAGIC_HELP };
#define MAGIC_ACTIONS_MAX 16
typedef struct magic_action {
    int kind;
    char *arg; /* the text after the magic's name, trimmed ("" when none) */
} magic_action;
typedef struct cell_magics {
    int undo, who, whos, time, timeit, seed_set, cflags_show;
    int timeit_loops, timeit_runs; /* %timeit -n / -r (0: automatic) */
    unsigned long long seed;
    char *cflags;  /* %cflags with arguments: the new flags */
    magic_action actions[MAGIC_ACTIONS_MAX];
    int nactions;
    char *file_path; /* %%file: where the rest of the cell goes (the cell does not run) */
    char *file_body;
    int file_append; /* %%file -a */
    char bad[512]; /* a UsageError message, or "" */
    char *code;    /* the cell with its magic lines blanked (same line numbers) */
    int has_code;  /* anything besides magics and blank lines */
} cell_magics;
int magics_parse(const char *code, cell_magics *m);
void magics_free(cell_magics *m);
/* Run one executor-changing magic in the executor (prints what it did). Returns 0, or
 * <0 with err filled: -2 and below are usage errors, -1 a failure of the system. */
int magics_run_action(const magic_action *a, char *err, size_t errsize);
/* %%file: write (or append) the cell's text to its path; prints "Writing PATH". */
int magics_write_file(const cell_magics *m, char *err, size_t errsize);

/* ---- value_format.c ---- */
/* Text of a value of a session-declared type (`point {x = 1.0, y = 2.0}`) into buf;
 * returns 0 when unsure (size 0: the size is not known, skip the check). */
int value_format(const void *value, size_t size, const char *type, char *buf, size_t bufsize);
/* The size in bytes of a value of a type text (scalars, pointers, arrays in digits,
 * session structs), or 0 when not known. */
size_t value_type_size(const char *type);

/* ---- introspect.c ---- */
/* Print the %who (names) or %whos (table) listing to stdout. */
void introspect_whos(int detailed);
/* Bring this process's record of the session's names up to date after cell `cell`
 * committed (-1: look at every name) and return the hash of the set of names. */
uint64_t introspect_names_update(int cell);
/* Put the session's names into done: the whole list as `names`, or with as_delta (the
 * front holds the record as this process last sent it) `names_added` (new or changed
 * entries) and `names_removed` (names that are gone) since then. done NULL: only mark
 * the record as sent. */
void introspect_names_into(json_t *done, int as_delta);
json_t *introspect_inspect(const char *code, int cursor_pos, int detail_level);
json_t *introspect_complete(const char *code, int cursor_pos);

#endif
