/* wire.c - chunked, reassembled ZeroMQ messages (see wire.h) */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "mem.h"
#include "wire.h"

struct flow__wire_partial {
    flow__wire_partial_t *next; /* Next reassembly. */
    char peer[64];              /* Sender. */
    size_t peer_len;            /* Its length. */
    uint32_t next_chunk;        /* Chunk number expected next. */
    flow__wbuf_t buf;           /* Payload so far. */
};

void flow__wire_rx_init(flow__wire_rx_t *rx, int router)
{
    rx->router = router;
    rx->partial = NULL;
}

void flow__wire_rx_free(flow__wire_rx_t *rx)
{
    while (rx->partial) {
        flow__wire_partial_t *p = rx->partial;
        rx->partial = p->next;
        flow__wbuf_free(&p->buf);
        flow__free(p);
    }
}

void flow__msg_free(flow__msg_t *m)
{
    flow__free(m->payload);
    m->payload = NULL;
    m->len = 0;
}

void flow__wire_put_hdr(uint8_t out[FLOW_WIRE_HDR_LEN], const flow__msg_hdr_t *h)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__wbuf_put(&b, "FW", 2);
    flow__wbuf_u8(&b, FLOW_WIRE_VERSION);
    flow__wbuf_u8(&b, h->type);
    flow__wbuf_u32(&b, h->flags);
    flow__wbuf_u32(&b, h->executor);
    flow__wbuf_u32(&b, h->job);
    flow__wbuf_u32(&b, h->stage);
    flow__wbuf_u32(&b, h->task);
    flow__wbuf_u32(&b, h->attempt);
    flow__wbuf_u32(&b, h->chunk);
    flow__wbuf_u64(&b, h->total);
    memcpy(out, b.data, FLOW_WIRE_HDR_LEN);
    flow__wbuf_free(&b);
}

int flow__wire_get_hdr(const void *p, size_t len, flow__msg_hdr_t *out)
{
    flow__rbuf_t r;
    flow__rbuf_init(&r, p, len);
    const void *magic = flow__rbuf_raw(&r, 2);
    if (len != FLOW_WIRE_HDR_LEN || !magic || memcmp(magic, "FW", 2) != 0 ||
        flow__rbuf_u8(&r) != FLOW_WIRE_VERSION)
        return FLOW_EPROTO;
    out->type = flow__rbuf_u8(&r);
    out->flags = flow__rbuf_u32(&r);
    out->executor = flow__rbuf_u32(&r);
    out->job = flow__rbuf_u32(&r);
    out->stage = flow__rbuf_u32(&r);
    out->task = flow__rbuf_u32(&r);
    out->attempt = flow__rbuf_u32(&r);
    out->chunk = flow__rbuf_u32(&r);
    out->total = flow__rbuf_u64(&r);
    if (out->type < FLOW_MSG_REGISTER || out->type > FLOW_MSG_BCAST_DROP)
        return FLOW_EPROTO;
    return FLOW_OK;
}

static int send_frame(void *sock, const void *p, size_t n, int more, flow__err_t *err)
{
    while (zmq_send(sock, p, n, more ? ZMQ_SNDMORE : 0) < 0) {
        if (errno == EINTR)
            continue;
        return flow__err_set(err, FLOW_ENET, "send: %s", zmq_strerror(errno));
    }
    return FLOW_OK;
}

int flow__wire_send(void *sock, const void *peer, size_t peer_len, const flow__msg_hdr_t *h,
                    const void *payload, size_t len, size_t chunk_size, flow__err_t *err)
{
    flow__msg_hdr_t ch = *h;
    const uint8_t *p = payload;
    size_t off = 0;
    ch.total = len;
    ch.chunk = 0;
    do {
        size_t n = len - off < chunk_size ? len - off : chunk_size;
        ch.flags = h->flags | (off + n == len ? FLOW_WIRE_LAST : 0);
        uint8_t hdr[FLOW_WIRE_HDR_LEN];
        flow__wire_put_hdr(hdr, &ch);
        int rc = FLOW_OK;
        if (peer)
            rc = send_frame(sock, peer, peer_len, 1, err);
        if (rc == FLOW_OK)
            rc = send_frame(sock, hdr, sizeof hdr, 1, err);
        if (rc == FLOW_OK)
            rc = send_frame(sock, n ? p + off : (const void *)"", n, 0, err);
        if (rc < 0)
            return rc;
        off += n;
        ch.chunk++;
    } while (off < len);
    return FLOW_OK;
}

static flow__wire_partial_t *partial_for(flow__wire_rx_t *rx, const char *peer, size_t n)
{
    for (flow__wire_partial_t *p = rx->partial; p; p = p->next)
        if (p->peer_len == n && memcmp(p->peer, peer, n) == 0)
            return p;
    flow__wire_partial_t *p = flow__calloc(1, sizeof *p);
    memcpy(p->peer, peer, n);
    p->peer_len = n;
    flow__wbuf_init(&p->buf);
    p->next = rx->partial;
    rx->partial = p;
    return p;
}

/* Read the remaining frames of a multipart message into up to 3 messages. */
static int recv_parts(void *sock, zmq_msg_t *parts, int *nparts, flow__err_t *err)
{
    *nparts = 0;
    int more = 1;
    while (more) {
        zmq_msg_t tmp, *m = *nparts < 3 ? &parts[*nparts] : &tmp;
        zmq_msg_init(m);
        while (zmq_msg_recv(m, sock, 0) < 0) {
            if (errno == EINTR)
                continue;
            zmq_msg_close(m);
            return flow__err_set(err, FLOW_ENET, "receive: %s", zmq_strerror(errno));
        }
        more = zmq_msg_more(m);
        if (m == &tmp)
            zmq_msg_close(m);
        (*nparts)++;
    }
    return FLOW_OK;
}

/* Take one received multipart message; 1 when it completed a payload. */
static int take_parts(flow__wire_rx_t *rx, zmq_msg_t *parts, int nparts, flow__msg_t *out,
                      flow__err_t *err)
{
    int want = rx->router ? 3 : 2, i = 0;
    if (nparts != want)
        return flow__err_set(err, FLOW_EPROTO, "message of %d frames, expected %d", nparts,
                             want);
    const char *peer = "";
    size_t peer_len = 0;
    if (rx->router) {
        peer = zmq_msg_data(&parts[0]);
        peer_len = zmq_msg_size(&parts[0]);
        if (peer_len > sizeof out->peer)
            return flow__err_set(err, FLOW_EPROTO, "routing id of %zu bytes", peer_len);
        i = 1;
    }
    flow__msg_hdr_t h;
    if (flow__wire_get_hdr(zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i]), &h) < 0)
        return flow__err_set(err, FLOW_EPROTO, "malformed message header");
    flow__wire_partial_t *p = partial_for(rx, peer, peer_len);
    size_t n = zmq_msg_size(&parts[i + 1]);
    if (h.chunk != p->next_chunk || p->buf.len + n > h.total) {
        p->buf.len = 0;
        p->next_chunk = 0;
        return flow__err_set(err, FLOW_EPROTO, "chunk %u out of order", h.chunk);
    }
    if (h.chunk == 0)
        flow__wbuf_reserve(&p->buf, h.total ? h.total : 8);
    flow__wbuf_put(&p->buf, zmq_msg_data(&parts[i + 1]), n);
    p->next_chunk++;
    if (!(h.flags & FLOW_WIRE_LAST))
        return 0;
    if (p->buf.len != h.total) {
        p->buf.len = 0;
        p->next_chunk = 0;
        return flow__err_set(err, FLOW_EPROTO, "payload of %zu bytes, header says %llu",
                             p->buf.len, (unsigned long long)h.total);
    }
    out->hdr = h;
    out->payload = flow__wbuf_take(&p->buf, &out->len);
    memcpy(out->peer, peer, peer_len);
    out->peer_len = peer_len;
    p->next_chunk = 0;
    return 1;
}

int flow__wire_recv(void *sock, flow__wire_rx_t *rx, int timeout_ms, flow__msg_t *out,
                    flow__err_t *err)
{
    for (;;) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return flow__err_set(err, FLOW_ENET, "poll: %s", zmq_strerror(errno));
        if (n == 0)
            return 0;
        zmq_msg_t parts[3];
        int nparts, rc = recv_parts(sock, parts, &nparts, err);
        if (rc < 0)
            return rc;
        rc = take_parts(rx, parts, nparts, out, err);
        for (int i = 0; i < nparts && i < 3; i++)
            zmq_msg_close(&parts[i]);
        if (rc != 0)
            return rc;
        /* A chunk of a longer payload: the rest is already on its way. */
        timeout_ms = -1;
    }
}
