/* wire.h - messages between the driver and executors over ZeroMQ
 * Every message is a header frame and a payload frame (a ROUTER socket adds
 * the peer's routing id in front). Messages are bounded: a payload larger
 * than the chunk size travels as several messages with increasing chunk
 * numbers, the last one flagged, and the receiver reassembles them per peer
 * into one 8-aligned buffer. Identifiers are stable across the system: job,
 * stage, task (index in its stage), attempt and executor.
 *
 *   header (40 bytes, little-endian):
 *   | magic "FW": 2 | version: u8 | type: u8 | flags: u32 | executor: u32 |
 *   | job: u32 | stage: u32 | task: u32 | attempt: u32 | chunk: u32 |
 *   | total payload length: u64 |
 *
 * Types: REGISTER (executor -> driver: it is ready; payload: slots as u32),
 * TASK (driver -> executor: an encoded task), RESULT (executor -> driver: an
 * encoded task result), CANCEL (driver -> executor: drop the job's tasks),
 * STOP (driver -> executor: exit the loop).
 * Call order: wire_send any time; wire_recv* with one flow__wire_rx_t per
 * socket; flow__wire_rx_free at the end. */
#ifndef FLOW_WIRE_H
#define FLOW_WIRE_H

#include "buf.h"
#include "err.h"

#define FLOW_WIRE_VERSION 1
#define FLOW_WIRE_HDR_LEN 40
#define FLOW_WIRE_LAST 1u /* flags: the last chunk of a payload. */

enum flow__msg_type {
    FLOW_MSG_REGISTER = 1,
    FLOW_MSG_TASK = 2,
    FLOW_MSG_RESULT = 3,
    FLOW_MSG_CANCEL = 4,
    FLOW_MSG_STOP = 5,
    FLOW_MSG_BCAST = 6,      /* Payload: variable id u64 (LE), then its bytes. */
    FLOW_MSG_BCAST_DROP = 7, /* Payload: variable id u64 (LE). */
};

typedef struct flow__msg_hdr {
    uint8_t type;       /* FLOW_MSG_*. */
    uint32_t flags;     /* FLOW_WIRE_LAST on the final chunk. */
    uint32_t executor;  /* Executor id (sender or target). */
    uint32_t job;       /* Job id, or 0. */
    uint32_t stage;     /* Stage id, or 0. */
    uint32_t task;      /* Task index in its stage. */
    uint32_t attempt;   /* Attempt number. */
    uint32_t chunk;     /* Chunk number of this part of the payload. */
    uint64_t total;     /* Length of the whole payload. */
} flow__msg_hdr_t;

/* A whole received message. */
typedef struct flow__msg {
    flow__msg_hdr_t hdr; /* Header (of the last chunk). */
    uint8_t *payload;    /* Reassembled payload, 8-aligned, owned (flow__free). */
    size_t len;          /* Its length. */
    char peer[64];       /* ROUTER side: the sender's routing id. */
    size_t peer_len;     /* Its length (0 on a DEALER). */
} flow__msg_t;

typedef struct flow__wire_partial flow__wire_partial_t;

/* Per-socket receive state: payloads being reassembled, per peer. */
typedef struct flow__wire_rx {
    int router;                    /* The socket is a ROUTER (frames carry a peer). */
    flow__wire_partial_t *partial; /* Reassemblies in progress. */
} flow__wire_rx_t;

void flow__wire_rx_init(flow__wire_rx_t *rx, int router);
void flow__wire_rx_free(flow__wire_rx_t *rx);

/* Send a message, chunked by chunk_size; peer (a routing id) only on a
 * ROUTER. FLOW_ENET when ZeroMQ refuses. */
int flow__wire_send(void *sock, const void *peer, size_t peer_len, const flow__msg_hdr_t *h,
                    const void *payload, size_t len, size_t chunk_size, flow__err_t *err);
/* Receive: waits up to timeout_ms (-1: forever, 0: not at all). Returns 1
 * with *out filled when a whole message is complete, 0 when nothing complete
 * arrived in time, negative with err set on a transport failure or a
 * malformed message (which is dropped). */
int flow__wire_recv(void *sock, flow__wire_rx_t *rx, int timeout_ms, flow__msg_t *out,
                    flow__err_t *err);
void flow__msg_free(flow__msg_t *m);

void flow__wire_put_hdr(uint8_t out[FLOW_WIRE_HDR_LEN], const flow__msg_hdr_t *h);
int flow__wire_get_hdr(const void *p, size_t len, flow__msg_hdr_t *out);

#endif
