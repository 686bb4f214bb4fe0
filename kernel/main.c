/* main.c — the command line of cairn-kernel-core, the kernel proper. Jupyter starts the
 * launcher `cairn-kernel` (launcher.c), which opens the listening sockets and execs this
 * with the same arguments (plus --listen-fds=...).
 *
 *   cairn-kernel -f CONNECTION_FILE    run the kernel (what kernel.json's argv says)
 *   cairn-kernel install [...]         write the kernelspec (see front/install.c)
 *   cairn-kernel --version | --help
 *
 * Logs go to stderr with a "cairn:" prefix; the connection key is never printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0"
#endif

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: cairn-kernel -f CONNECTION_FILE\n"
            "       cairn-kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]\n"
            "       cairn-kernel --version | --help\n"
            "\n"
            "cairn is a Jupyter kernel for interactive C (protocol 5.3). Jupyter starts it with\n"
            "-f; `install --user` makes it appear in `jupyter kernelspec list` as 'cairn'.\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "install") == 0)
        return install_main(argc - 2, argv + 2);
    unsetenv("CAIRN_LAUNCHER"); /* only install needs it; cells need not see it */
    const char *conn = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--connection-file") == 0) && i + 1 < argc)
            conn = argv[++i];
        else if (strncmp(argv[i], "--connection-file=", 18) == 0)
            conn = argv[i] + 18;
        else if (strncmp(argv[i], "--listen-fds=", 13) == 0) {
            if (front_use_listen_fds(argv[i] + 13) != 0)
                fprintf(stderr, "cairn: ignoring malformed %s\n", argv[i]);
        }
        else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("cairn-kernel %s (Jupyter protocol 5.3)\n", CAIRN_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "cairn: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!conn) {
        usage(stderr);
        return 2;
    }
    return front_main(conn);
}
