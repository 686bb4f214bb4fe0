/* test_front_supervisor.c — receiving executor messages (kernel/front/supervisor.c).
 *
 * A process that dies in the middle of sending a message leaves its first packets in
 * the socket; the next writer's message must come through intact rather than be glued
 * to them. Here a forked child sends one packet of a message (no "last" flag) and
 * exits; then this process sends a whole message, which supervisor_recv must return,
 * with its binary buffer and its send time. Also: "not yet" on an empty socket, EOF once
 * no writer is left. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "front/front.h"

int main(void)
{
    int fds[2];
    CHECK(ipc_pair(fds) == 0);
    int on = 1;
    CHECK(setsockopt(fds[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    supervisor s;
    memset(&s, 0, sizeof s);
    s.fd = fds[0];

    CHECK(setsockopt(fds[0], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0);
    ipc_msg m;
    double sent = 0;
    CHECK(supervisor_recv(&s, &m, &sent) == 0); /* nothing sent yet */

    pid_t child = fork();
    if (child == 0) {
        /* first packet of a message that never ends: flag 0, then bytes */
        char packet[1 + 100];
        memset(packet, 'x', sizeof packet);
        packet[0] = 0;
        send(fds[1], packet, sizeof packet, 0);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);

    json_t *done = json_pack("{s:s, s:s}", "type", "done", "status", "ok");
    ipc_buffer buf = {"PNGDATA", 7};
    double before = front_realtime();
    CHECK(ipc_send(fds[1], done, &buf, 1) == 0);
    double after = front_realtime();
    usleep(20000);
    CHECK(supervisor_recv(&s, &m, &sent) == 1);
    /* the send time, not the (20 ms later) receive time: it orders messages and pipe reads */
    CHECK(sent >= before - 1e-3 && sent <= after + 1e-3);
    CHECK(m.header && strcmp(json_string_value(json_object_get(m.header, "type")), "done") == 0);
    CHECK(m.nbuffers == 1 && m.buffers[0].size == 7 && memcmp(m.buffers[0].data, "PNGDATA", 7) == 0);
    ipc_msg_free(&m);

    /* a message too short to hold its own header is dropped, the next one is fine */
    char junk[5] = {1, 'a', 'b', 'c', 'd'};
    CHECK(send(fds[1], junk, sizeof junk, 0) == (ssize_t)sizeof junk);
    CHECK(supervisor_recv(&s, &m, &sent) == -2);
    CHECK(ipc_send(fds[1], done, NULL, 0) == 0);
    CHECK(supervisor_recv(&s, &m, &sent) == 1);
    ipc_msg_free(&m);

    close(fds[1]);
    CHECK(supervisor_recv(&s, &m, &sent) == -1); /* no writer left: the chain is gone */
    json_decref(done);
    ipc_reader_free(&s.reader);
    close(fds[0]);
    return check_summary("front_supervisor");
}
