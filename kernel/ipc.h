/* ipc.h — framed messages between the front and the executor processes.
 *
 * The channel is an AF_UNIX SOCK_SEQPACKET socketpair. A message is a JSON header plus
 * zero or more binary buffers (images travel as raw bytes; the front base64-encodes
 * them once). A message is cut into packets of at most IPC_PACKET_MAX bytes, each
 * starting with one flag byte (1 = last packet of the message). Packets are atomic, so a
 * writer that dies mid-message leaves only a truncated message, which the reader drops
 * with ipc_reader_reset() when it learns the writer died.
 *
 * The message types of the front <-> executor protocol are listed in exec/protocol.md. */
#ifndef CAIRN_IPC_H
#define CAIRN_IPC_H

#include <jansson.h>
#include <stddef.h>

#define IPC_PACKET_MAX 65536
#define IPC_MAX_BUFFERS 16
#define IPC_MESSAGE_MAX ((size_t)1 << 30)

typedef struct ipc_buffer {
    const void *data;
    size_t size;
} ipc_buffer;

typedef struct ipc_msg {
    json_t *header;                   /* owned: json_decref in ipc_msg_free */
    int nbuffers;
    ipc_buffer buffers[IPC_MAX_BUFFERS]; /* point into `storage` */
    char *storage;                    /* owned */
} ipc_msg;

typedef struct ipc_reader {
    char *buf;
    size_t len;
    size_t cap;
} ipc_reader;

/* Create the socketpair (both ends close-on-exec). Returns 0 or -1 with errno. */
int ipc_pair(int fds[2]);

/* Send one message; blocks until every packet is queued. Returns 0, or -1 on error. */
int ipc_send(int fd, const json_t *header, const ipc_buffer *buffers, int nbuffers);

/* Read packets until one message is complete. On a non-blocking fd returns 0 when no
 * full message is available yet. Returns 1 with *out filled, 0 for "not yet", -1 on
 * EOF or a malformed message (the reader is reset). */
int ipc_recv(int fd, ipc_reader *reader, ipc_msg *out);

/* Drop any partly received message. */
void ipc_reader_reset(ipc_reader *reader);

/* Make room for one more packet at the end of the reader's buffer. Returns 0, or -1
 * when out of memory. Readers with their own recvmsg (the front's, which also wants
 * credentials and timestamps) call it before each packet. */
int ipc_reader_reserve(ipc_reader *reader);

/* Free the reader's buffer. */
void ipc_reader_free(ipc_reader *reader);

/* Free a received message. */
void ipc_msg_free(ipc_msg *msg);

#endif
