/* executor.h — the process that holds the session state and runs cells in forked
 * children (see ../shared DESIGN and exec/protocol.md). The front forks the first
 * executor and calls executor_run in it. */
#ifndef CAIRN_EXECUTOR_H
#define CAIRN_EXECUTOR_H

/* Serve the front on exec_fd (stdout/stderr already redirected to the front's pipes,
 * stdin is /dev/null). Returns only to exit: the caller then calls _exit(status). */
int executor_run(int exec_fd);

#endif
