/* rec.c - block layout, arenas and key encodings (see rec.h) */
#include <string.h>

#include "mem.h"
#include "rec.h"

static const char empty_key[8];

size_t flow__rec_write(void *dst, const flow_rec_t *r)
{
    static const uint64_t zero = 0;
    uint8_t *p = dst;
    uint32_t hdr[2] = {r->key ? (uint32_t)r->klen : FLOW_NOKEY, (uint32_t)r->vlen};
    memcpy(p, hdr, 8);
    size_t off = 8;
    /* Each field's last 8-byte word is zeroed first, then the bytes copied
     * over it: the padding is zeros without a memset of 0 to 7 bytes. */
    if (r->key) {
        size_t kp = flow__pad8(r->klen);
        if (kp)
            memcpy(p + off + kp - 8, &zero, 8);
        flow__copy(p + off, r->key, r->klen);
        off += kp;
    }
    size_t vp = flow__pad8(r->vlen);
    if (vp)
        memcpy(p + off + vp - 8, &zero, 8);
    flow__copy(p + off, r->val, r->vlen);
    return off + vp;
}

void flow__block_append(flow__wbuf_t *b, const flow_rec_t *r)
{
    size_t n = flow__rec_size(r);
    flow__wbuf_reserve(b, n);
    b->len += flow__rec_write(b->data + b->len, r);
}

int flow__block_next(const void *blk, size_t len, size_t *pos, flow_rec_t *out)
{
    const uint8_t *p = blk;
    size_t at = *pos;
    if (at == len)
        return 0;
    if (at > len || len - at < 8 || (at & 7))
        return FLOW_EPROTO;
    uint32_t hdr[2];
    memcpy(hdr, p + at, 8);
    at += 8;
    if (hdr[0] != FLOW_NOKEY) {
        size_t kp = flow__pad8(hdr[0]);
        if (hdr[0] > FLOW_REC_MAX || len - at < kp)
            return FLOW_EPROTO;
        out->key = hdr[0] ? (const void *)(p + at) : (const void *)empty_key;
        out->klen = hdr[0];
        at += kp;
    } else {
        out->key = NULL;
        out->klen = 0;
    }
    size_t vp = flow__pad8(hdr[1]);
    if (hdr[1] > FLOW_REC_MAX || len - at < vp)
        return FLOW_EPROTO;
    out->val = p + at;
    out->vlen = hdr[1];
    *pos = at + vp;
    return 1;
}

int64_t flow__block_count(const void *blk, size_t len)
{
    size_t pos = 0;
    int64_t n = 0;
    flow_rec_t r;
    int rc;
    while ((rc = flow__block_next(blk, len, &pos, &r)) == 1)
        n++;
    return rc == 0 ? n : -1;
}

int flow_glom_next(const flow_rec_t *glommed, size_t *pos, flow_rec_t *out)
{
    return flow__block_next(glommed->val, glommed->vlen, pos, out);
}

struct flow__arena_chunk {
    flow__arena_chunk_t *next; /* Older chunk. */
    size_t cap;                /* Usable bytes in data. */
    size_t used;               /* Bytes handed out. */
    uint64_t data[];           /* The memory, 8-aligned. */
};

void flow__arena_init(flow__arena_t *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? flow__pad8(chunk_size) : (1u << 20);
    a->allocated = 0;
    a->peak = 0;
}

static flow__arena_chunk_t *chunk_new(flow__arena_t *a, size_t cap)
{
    flow__arena_chunk_t *c = flow__malloc(sizeof *c + cap);
    c->cap = cap;
    c->used = 0;
    a->allocated += cap;
    if (a->allocated > a->peak)
        a->peak = a->allocated;
    return c;
}

void *flow__arena_alloc(flow__arena_t *a, size_t n)
{
    n = flow__pad8(n ? n : 1);
    flow__arena_chunk_t *c = a->head;
    if (c && c->cap - c->used >= n) {
        void *p = (uint8_t *)c->data + c->used;
        c->used += n;
        return p;
    }
    if (n > a->chunk_size / 4) {
        /* A big request gets a chunk of its own, behind the current head, so
         * that the head's free space is not wasted. */
        flow__arena_chunk_t *big = chunk_new(a, n);
        big->used = n;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        return big->data;
    }
    c = chunk_new(a, a->chunk_size);
    c->next = a->head;
    a->head = c;
    c->used = n;
    return c->data;
}

void flow__arena_reset(flow__arena_t *a)
{
    flow__arena_chunk_t *keep = NULL, *c = a->head;
    while (c) {
        flow__arena_chunk_t *next = c->next;
        if (!keep && c->cap == a->chunk_size) {
            keep = c;
            keep->used = 0;
        } else {
            a->allocated -= c->cap;
            flow__free(c);
        }
        c = next;
    }
    if (keep)
        keep->next = NULL;
    a->head = keep;
}

void flow__arena_free(flow__arena_t *a)
{
    flow__arena_reset(a);
    if (a->head) {
        a->allocated -= a->head->cap;
        flow__free(a->head);
    }
    a->head = NULL;
}

int flow__rec_cmp_bytes(const flow_rec_t *a, const flow_rec_t *b)
{
    if (!a->key != !b->key)
        return a->key ? 1 : -1;
    if (a->key) {
        size_t n = a->klen < b->klen ? a->klen : b->klen;
        int c = n ? memcmp(a->key, b->key, n) : 0;
        if (c || a->klen != b->klen)
            return c ? c : (a->klen < b->klen ? -1 : 1);
    }
    size_t n = a->vlen < b->vlen ? a->vlen : b->vlen;
    int c = n ? memcmp(a->val, b->val, n) : 0;
    if (c || a->vlen != b->vlen)
        return c ? c : (a->vlen < b->vlen ? -1 : 1);
    return 0;
}

/* ---- Order-preserving key encodings ---------------------------------- */

static void put_be64(uint64_t u, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(u >> (56 - 8 * i));
}

static uint64_t get_be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | b[i];
    return u;
}

void flow_key_from_i64(int64_t v, uint8_t out[8])
{
    put_be64((uint64_t)v ^ (1ull << 63), out);
}

int64_t flow_key_to_i64(const void *key8)
{
    return (int64_t)(get_be64(key8) ^ (1ull << 63));
}

void flow_key_from_f64(double v, uint8_t out[8])
{
    uint64_t u;
    memcpy(&u, &v, 8);
    u = (u >> 63) ? ~u : (u | (1ull << 63));
    put_be64(u, out);
}

double flow_key_to_f64(const void *key8)
{
    uint64_t u = get_be64(key8);
    u = (u >> 63) ? (u & ~(1ull << 63)) : ~u;
    double v;
    memcpy(&v, &u, 8);
    return v;
}
