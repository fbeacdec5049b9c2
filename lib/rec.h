/* rec.h - the record and partition layout, and arenas
 * A partition is stored as a block: records back to back, each 8-byte aligned,
 * so that a UDF may read an int64 or a double in place. The same layout is
 * what collect returns, what glom hands out, and what later issues cache,
 * shuffle (then LZ4-compressed) and spill, so moving a partition is a memcpy
 * or a compress, never a re-encoding.
 *
 *   one record (all fields little-endian, as the host):
 *   +-----------+-----------+-----------------+-----------------+
 *   | klen: u32 | vlen: u32 | key, pad to 8   | value, pad to 8 |
 *   +-----------+-----------+-----------------+-----------------+
 *   klen == FLOW_NOKEY (0xFFFFFFFF) marks an unkeyed record (no key bytes).
 *
 * Arenas hand out 8-aligned memory from large chunks and are reset as a whole,
 * so that no record costs an allocation. */
#ifndef FLOW_REC_H
#define FLOW_REC_H

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "flow.h"

#define FLOW_NOKEY 0xFFFFFFFFu
#define FLOW_REC_MAX 0xFFFFFFF0u /* Largest key or value length. */

static inline size_t flow__pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Start loading the cache line at p. GCC 12 drops __builtin_prefetch from
 * some loops (a scan whose body stores through a pointer: the prefetch of
 * a pointer read from the scanned array was gone from the object code), so
 * on x86 this is an asm statement, which the compiler keeps. */
static inline void flow__prefetch(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p);
#endif
}

/* Copy n bytes that do not overlap. Keys and values are mostly a few bytes
 * long, of a length known only at run time, for which memcpy is a call into
 * libc and a dispatch on the size: up to 16 bytes this is two loads and two
 * stores (overlapping when n is not a power of two), inline. */
static inline void flow__copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 16) {
        memcpy(d, s, n);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* Bytes that r takes in a block. */
static inline size_t flow__rec_size(const flow_rec_t *r)
{
    return 8 + (r->key ? flow__pad8(r->klen) : 0) + flow__pad8(r->vlen);
}

/* Write r at dst (8-aligned, flow__rec_size(r) bytes); returns bytes written. */
size_t flow__rec_write(void *dst, const flow_rec_t *r);
/* Append r to a block being built in b (b->len stays a multiple of 8). */
void flow__block_append(flow__wbuf_t *b, const flow_rec_t *r);
/* Read the record at *pos of a block of len bytes: 1 with *out set and *pos
 * advanced, 0 at the end, FLOW_EPROTO when the bytes are not a block. */
int flow__block_next(const void *blk, size_t len, size_t *pos, flow_rec_t *out);
/* Count the records of a block; -1 when malformed. */
int64_t flow__block_count(const void *blk, size_t len);

typedef struct flow__arena_chunk flow__arena_chunk_t;

typedef struct flow__arena {
    flow__arena_chunk_t *head; /* Chunk being filled; older chunks follow. */
    size_t chunk_size;         /* Size of a regular chunk. */
    size_t allocated;          /* Bytes of chunks held now. */
    size_t peak;               /* Most bytes of chunks held at once. */
} flow__arena_t;

void flow__arena_init(flow__arena_t *a, size_t chunk_size);
/* n bytes, 8-aligned; a request larger than a chunk gets a chunk of its own. */
void *flow__arena_alloc(flow__arena_t *a, size_t n);
/* Forget every allocation, keeping one regular chunk for reuse. */
void flow__arena_reset(flow__arena_t *a);
void flow__arena_free(flow__arena_t *a);

/* Compare records bytewise: by key (unkeyed before keyed), then by value. */
int flow__rec_cmp_bytes(const flow_rec_t *a, const flow_rec_t *b);

#endif
