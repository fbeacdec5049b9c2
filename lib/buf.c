/* buf.c - growable buffers and bounds-checked little-endian encoding (see buf.h) */
#include <string.h>

#include "buf.h"
#include "mem.h"

void flow__wbuf_init(flow__wbuf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void flow__wbuf_free(flow__wbuf_t *b)
{
    flow__free(b->data);
    flow__wbuf_init(b);
}

void flow__wbuf_reserve(flow__wbuf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    b->data = flow__realloc(b->data, cap);
    b->cap = cap;
}

void *flow__wbuf_extend(flow__wbuf_t *b, size_t n)
{
    flow__wbuf_reserve(b, n);
    void *p = b->data + b->len;
    b->len += n;
    return p;
}

void flow__wbuf_put(flow__wbuf_t *b, const void *p, size_t n)
{
    if (n)
        memcpy(flow__wbuf_extend(b, n), p, n);
}

void flow__wbuf_u8(flow__wbuf_t *b, uint8_t v) { flow__wbuf_put(b, &v, 1); }

void flow__wbuf_u32(flow__wbuf_t *b, uint32_t v)
{
    uint8_t *p = flow__wbuf_extend(b, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void flow__wbuf_u64(flow__wbuf_t *b, uint64_t v)
{
    uint8_t *p = flow__wbuf_extend(b, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void flow__wbuf_f64(flow__wbuf_t *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    flow__wbuf_u64(b, u);
}

void flow__wbuf_bytes(flow__wbuf_t *b, const void *p, size_t n)
{
    flow__wbuf_u32(b, (uint32_t)n);
    flow__wbuf_put(b, p, n);
}

void flow__wbuf_str(flow__wbuf_t *b, const char *s) { flow__wbuf_bytes(b, s, strlen(s)); }

void flow__wbuf_align(flow__wbuf_t *b, size_t align)
{
    size_t pad = (align - (b->len & (align - 1))) & (align - 1);
    if (pad)
        memset(flow__wbuf_extend(b, pad), 0, pad);
}

void *flow__wbuf_take(flow__wbuf_t *b, size_t *out_len)
{
    void *p = b->data;
    if (out_len)
        *out_len = b->len;
    if (!p)
        p = flow__malloc(1);
    flow__wbuf_init(b);
    return p;
}

void flow__rbuf_init(flow__rbuf_t *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->failed = 0;
}

const void *flow__rbuf_raw(flow__rbuf_t *r, size_t n)
{
    if (r->failed || r->len - r->pos < n) {
        r->failed = 1;
        return NULL;
    }
    const void *p = r->p + r->pos;
    r->pos += n;
    return p;
}

uint8_t flow__rbuf_u8(flow__rbuf_t *r)
{
    const uint8_t *p = flow__rbuf_raw(r, 1);
    return p ? p[0] : 0;
}

uint32_t flow__rbuf_u32(flow__rbuf_t *r)
{
    const uint8_t *p = flow__rbuf_raw(r, 4);
    uint32_t v = 0;
    for (int i = 0; p && i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

uint64_t flow__rbuf_u64(flow__rbuf_t *r)
{
    const uint8_t *p = flow__rbuf_raw(r, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

double flow__rbuf_f64(flow__rbuf_t *r)
{
    uint64_t u = flow__rbuf_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

const void *flow__rbuf_bytes(flow__rbuf_t *r, size_t *out_len)
{
    uint32_t n = flow__rbuf_u32(r);
    const void *p = flow__rbuf_raw(r, n);
    *out_len = p ? n : 0;
    return p;
}

char *flow__rbuf_strdup(flow__rbuf_t *r)
{
    size_t n;
    const void *p = flow__rbuf_bytes(r, &n);
    if (r->failed)
        return NULL;
    if (memchr(p, '\0', n)) {
        r->failed = 1;
        return NULL;
    }
    return flow__strndup(p ? p : "", n);
}

void flow__rbuf_align(flow__rbuf_t *r, size_t align)
{
    size_t pad = (align - (r->pos & (align - 1))) & (align - 1);
    flow__rbuf_raw(r, pad);
}
