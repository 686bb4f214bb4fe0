/* launcher.c — `cairn-kernel`, the program Jupyter starts: listen first, then load.
 *
 * The kernel proper (cairn-kernel-core, next to this program) links some forty shared
 * libraries — OpenBLAS, cairo and theirs, libtcc, ZeroMQ — and the dynamic loader takes
 * tens of milliseconds to map and relocate them on these virtual machines. A client that
 * connects before the kernel listens is refused, and ZeroMQ tries again only after its
 * reconnect interval (100 ms in jupyter_client), so a slow start costs a whole interval.
 * This program links only libc and jansson: it reads the connection file, opens the five
 * TCP listening sockets at once (a client's connect then succeeds and waits in the
 * backlog), and execs the core with them (`--listen-fds`), which hands each to ZeroMQ
 * (ZMQ_USE_FD) instead of binding anew. Anything else (ipc transport, an address that is
 * not IPv4, a port already taken, other commands) goes to the core unchanged, which
 * reports problems itself. */
#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CORE_NAME "cairn-kernel-core"

/* The channels in the order of --listen-fds (front.c reads them in this order). */
static const char *const port_keys[] = {"shell_port", "control_port", "stdin_port", "hb_port", "iopub_port"};
#define NPORTS (sizeof port_keys / sizeof port_keys[0])

static const char *connection_file(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--connection-file") == 0) && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--connection-file=", 18) == 0)
            return argv[i] + 18;
    }
    return NULL;
}

static int listen_on(const struct in_addr *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* no close-on-exec: the core takes it */
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr = *ip;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* "--listen-fds=a,b,c,d,e" for the connection file's five TCP ports, or 0 when it cannot
 * (then nothing stays open). */
static int open_listeners(const char *path, char *arg, size_t size)
{
    json_error_t err;
    json_t *c = json_load_file(path, 0, &err);
    if (!c)
        return 0;
    int ok = 0;
    const char *transport = json_string_value(json_object_get(c, "transport"));
    const char *ip = json_string_value(json_object_get(c, "ip"));
    struct in_addr addr;
    if (transport && strcmp(transport, "tcp") == 0 && ip && inet_pton(AF_INET, ip, &addr) == 1) {
        int fds[NPORTS];
        size_t n = 0;
        for (; n < NPORTS; n++) {
            json_t *p = json_object_get(c, port_keys[n]);
            if (!json_is_integer(p) || json_integer_value(p) <= 0 || json_integer_value(p) > 65535)
                break;
            fds[n] = listen_on(&addr, (int)json_integer_value(p));
            if (fds[n] < 0)
                break;
        }
        if (n == NPORTS) {
            snprintf(arg, size, "--listen-fds=%d,%d,%d,%d,%d", fds[0], fds[1], fds[2], fds[3], fds[4]);
            ok = 1;
        } else {
            for (size_t i = 0; i < n; i++)
                close(fds[i]);
        }
    }
    json_decref(c);
    return ok;
}

int main(int argc, char **argv)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "cairn: cannot find this program's path\n");
        return 1;
    }
    self[len] = '\0';
    char core[PATH_MAX + sizeof CORE_NAME];
    char *slash = strrchr(self, '/');
    snprintf(core, sizeof core, "%.*s/%s", (int)(slash - self), self, CORE_NAME);
    /* install writes this program into kernel.json, not the core */
    setenv("CAIRN_LAUNCHER", self, 1);

    char listen_arg[96];
    const char *conn = connection_file(argc, argv);
    int listening = conn && open_listeners(conn, listen_arg, sizeof listen_arg);
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args)
        return 1;
    args[0] = core;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    if (listening)
        args[argc] = listen_arg;
    execv(core, args);
    fprintf(stderr, "cairn: cannot run %s: %m\n", core);
    return 1;
}
