/* front.h — the front process: Jupyter sockets, message dispatch, executor supervision.
 *
 * The front never runs user code. Its main thread polls the shell, control and stdin
 * ROUTER sockets, the executor's IPC socket and its stdout/stderr pipes, and a signalfd
 * (SIGCHLD, SIGINT, SIGTERM), so control requests (interrupt, shutdown, kernel_info)
 * and the quick shell requests (complete, inspect, is_complete, history, comm_info) are
 * answered at once even while a cell runs. Requests that need the executor (execute,
 * inspect of a live value) wait in a FIFO until it is idle. The heartbeat echoes from
 * its own thread.
 *
 * This header is shared by the files of kernel/front only. */
#ifndef CAIRN_FRONT_H
#define CAIRN_FRONT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipc.h"
#include "wire.h"

/* Log a line to stderr with the "cairn:" prefix. Never pass key material. */
void front_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic clock in seconds. */
double front_now(void);

/* ---- supervisor.c: the executor process chain ---- */

typedef struct supervisor {
    int fd;                 /* our end of the IPC socketpair (non-blocking), -1 when none */
    int out_fd, err_fd;     /* read ends of the chain's stdout/stderr pipes, -1 at EOF */
    pid_t first_pid;        /* first executor of this chain = its process group id */
    pid_t current_pid;      /* executor holding the session (from ready/done) */
    pid_t started_pid;      /* cell process of the running execute, 0 when none */
    int ready;              /* the executor said ready and nothing is in flight */
    int ever_ready;         /* this chain reached ready at least once */
    int generation;         /* how many chains were started (restarts + 1) */
    int guard_fd;           /* write end of the guardian's lifeline (front only), -1 if none */
    pid_t guard_pid;        /* the guardian: kills the chain's group if the front dies */
    double sigkill_at;      /* interrupt escalation: SIGKILL started_pid at this time */
    double give_up_at;      /* after SIGKILL, restart the chain if still no done */
    int interrupt_killed;   /* the running cell was SIGKILLed because it did not stop on SIGINT */
    ipc_reader reader;      /* the message being received (supervisor_recv) */
    pid_t partial_pid;      /* sender of the packets in `reader` */
    double partial_sent_at; /* when the first packet of that message was sent */
} supervisor;

/* Fork a fresh executor chain (pipes, socketpair, process group). 0 or -1. */
int supervisor_start(supervisor *s);

/* Ask the chain to exit, then kill its process group after a short grace and reap
 * every child of the front (so nothing is left as zombie or orphan). */
void supervisor_stop(supervisor *s, double grace_seconds);

/* Reap every exited child without blocking (called on SIGCHLD). */
void supervisor_reap(supervisor *s);

/* Interrupt the running cell: SIGINT now, SIGKILL after the grace period. */
void supervisor_interrupt(supervisor *s);

/* Receive one executor message without blocking: 1 with *out filled, 0 for "not yet",
 * -1 when the chain is gone (EOF), -2 for a malformed message (dropped). Packets carry
 * their sender's pid (SO_PASSCRED), so a message cut short by a process that died in
 * the middle of sending it is dropped instead of corrupting the next one. */
int supervisor_recv(supervisor *s, ipc_msg *out, double *sent_at);

/* CLOCK_REALTIME in seconds: the clock of the socket's send timestamps. */
double front_realtime(void);

/* Send one op to the executor. 0 or -1. */
int supervisor_send(supervisor *s, json_t *op);

/* Become a child subreaper (once, at start). */
void supervisor_init_process(void);

/* Kill every remaining child of this process and reap it (shutdown and restarts). */
void supervisor_kill_all_children(double timeout_seconds);

/* ---- streams.c: the chain's stdout/stderr pipes to `stream` messages ---- */

#define STREAM_FLUSH_SECONDS 0.05
#define STREAM_CELL_CAP ((size_t)5 << 20)

typedef struct stream_buf {
    const char *name;       /* "stdout" or "stderr" */
    char *buf;
    size_t len, cap;
    char *chunk;            /* one read, kept apart until earlier messages are handled */
    double partial_since;   /* when the unterminated tail was first buffered; 0 if none */
    size_t cell_bytes;      /* bytes forwarded for the current cell */
    size_t dropped;         /* bytes dropped for the current cell beyond the cap */
} stream_buf;

struct front;

/* Read what the pipe has (up to `budget` bytes; (size_t)-1 = until empty) and publish
 * complete lines. With `ordered`, before each chunk is kept, the executor messages sent
 * before that read began are handled (front_handle_executor_before), so text written
 * after a display never overtakes it. Returns -1 at EOF (the fd is closed, set to -1). */
int stream_pump(struct front *f, stream_buf *sb, int *fd, size_t budget, int ordered);

/* Handle the executor messages sent before `t` (CLOCK_REALTIME seconds). */
void front_handle_executor_before(struct front *f, double t);

/* Publish whatever is buffered, partial line included; unless `all`, an unfinished
 * UTF-8 sequence at the end stays for the next read. */
void stream_flush(struct front *f, stream_buf *sb, int all);

/* Publish partial lines that waited STREAM_FLUSH_SECONDS; returns the seconds until the
 * next such deadline (or a large number). */
double stream_tick(struct front *f, stream_buf *sb, double now);

/* Start accounting a new cell; end_cell publishes a truncation notice if bytes were dropped. */
void stream_begin_cell(stream_buf *sb);
void stream_end_cell(struct front *f, stream_buf *sb);
void stream_free(stream_buf *sb);

/* ---- history.c ---- */

typedef struct history_entry {
    int session;
    int line;
    char *input;
    char *output; /* text/plain of the execute_result, or NULL */
} history_entry;

typedef struct history {
    history_entry *items;    /* oldest first; earlier sessions (from the file) first */
    size_t count, cap;
    int session;             /* this kernel's session number */
    int fd;                  /* the history file (append), <= 0 when none */
} history;

/* Load earlier sessions from the history file at path and append to it from now on
 * (NULL or "" = memory only). Sets the session number. */
void history_open(history *h, const char *path);

void history_add(history *h, int line, const char *input);
void history_set_output(history *h, int line, const char *output);
/* The history_reply content for a history_request content. */
json_t *history_reply(const history *h, const json_t *request);
void history_free(history *h);

/* ---- complete.c: completion and inspection without the executor ---- */

/* Whether code is a help cell as in IPython: `?name`, `name?` (detail 0) or `??name`,
 * `name??` (detail 1), alone in the cell; name may be `a.b`, `p->x` or `%magic`. Returns
 * 1 with *target (malloc'ed) and *detail, else 0. */
int help_request(const char *code, char **target, int *detail);
/* The front's copy of the session's names, an object name -> entry, from a `names` list. */
json_t *names_from_list(const json_t *list);
/* Apply the changes a `done` sent (names_added entries replace or add by name,
 * names_removed names go) to that object. */
void names_apply(json_t *names, const json_t *added, const json_t *removed);
/* complete_reply content for code/cursor_pos given the executor's cached names. */
json_t *complete_reply(const char *code, int cursor_pos, const json_t *names);

/* inspect_reply content; found=false when nothing is known about the name. */
json_t *inspect_reply(const char *code, int cursor_pos, int detail_level, const json_t *names);

/* The identifier at or before cursor_pos (code points), malloc'd, or NULL. */
char *complete_name_at(const char *code, int cursor_pos);

/* ---- install.c ---- */

/* `cairn-kernel install ...`: argv after "install". Returns the process exit status. */
int install_main(int argc, char **argv);

/* ---- front.c ---- */

typedef struct pending {
    wire_msg msg;           /* the request (owned) */
    int channel;            /* which socket it came on (CHANNEL_*) */
    struct pending *next;
} pending;

enum { CHANNEL_SHELL = 0, CHANNEL_CONTROL = 1, CHANNEL_STDIN = 2 };

typedef struct front {
    void *zctx;
    void *sockets[3];       /* shell, control, stdin (ROUTER) */
    void *iopub;            /* PUB */
    void *hb;               /* REP, served by hb_thread */
    pthread_t hb_thread;
    int hb_running;
    wire_key key;
    char session[33];
    int sigfd;
    supervisor sup;
    stream_buf out, err;
    history hist;
    int execution_count;
    pending *queue_head, *queue_tail;
    pending *running;       /* the execute (or forwarded inspect) in flight */
    int running_is_inspect;
    double inspect_deadline;
    double execute_sent_at; /* when the running execute went to the executor (debug timing) */
    int waiting_input;      /* the cell asked for input; reply goes to the executor */
    json_t *names;          /* the session's names by name (names_from_list, names_apply) */
    json_t *reply_payload;  /* NULL, or the payload of the running execute's reply (a `?name` page) */
    ipc_msg held;           /* an executor message received but sent after a pipe read */
    int has_held;
    double held_sent_at;
    json_t *last_parent;    /* parent header for output that arrives outside an execute */
    int quit;               /* 1 = shutdown requested */
    double started_at;
} front;

/* Publish on iopub with the given parent header (may be NULL). Steals content. */
void front_publish(front *f, const char *msg_type, const json_t *parent, json_t *content);

/* Run the kernel for a connection file. Returns the process exit status. */
int front_main(const char *connection_file);
/* Listening sockets opened by the launcher, "shell,control,stdin,hb,iopub" descriptors
 * (launcher.c): front_main hands them to ZeroMQ. Returns 0, or -1 when malformed. */
int front_use_listen_fds(const char *list);

#endif
