/* buf.h - growable byte buffers and bounds-checked binary encoding
 * Every encoded structure of libflow (task descriptors, splits, results, wire
 * messages) is written with a flow__wbuf_t and read back with a flow__rbuf_t.
 * Integers are little-endian and fixed width; byte strings are a u32 length
 * then the bytes. Readers never read past the end: a short or malformed input
 * sets the reader's failed flag, later reads return zeros, and the caller
 * checks flow__rbuf_ok() once at the end.
 * Call order: wbuf_init -> put* -> (use data/len or wbuf_take) -> wbuf_free;
 *             rbuf_init -> get* -> rbuf_ok. */
#ifndef FLOW_BUF_H
#define FLOW_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct flow__wbuf {
    uint8_t *data; /* Bytes written so far (allocated with flow__malloc). */
    size_t len;    /* Number of bytes written. */
    size_t cap;    /* Allocated capacity. */
} flow__wbuf_t;

void flow__wbuf_init(flow__wbuf_t *b);
void flow__wbuf_free(flow__wbuf_t *b);
/* Make room for n more bytes and return a pointer to them (len grows by n). */
void *flow__wbuf_extend(flow__wbuf_t *b, size_t n);
void flow__wbuf_reserve(flow__wbuf_t *b, size_t n);
void flow__wbuf_put(flow__wbuf_t *b, const void *p, size_t n);
void flow__wbuf_u8(flow__wbuf_t *b, uint8_t v);
void flow__wbuf_u32(flow__wbuf_t *b, uint32_t v);
void flow__wbuf_u64(flow__wbuf_t *b, uint64_t v);
void flow__wbuf_f64(flow__wbuf_t *b, double v);
/* A u32 length then the bytes. */
void flow__wbuf_bytes(flow__wbuf_t *b, const void *p, size_t n);
/* A C string as bytes (without the NUL). */
void flow__wbuf_str(flow__wbuf_t *b, const char *s);
/* Pad with zero bytes to a multiple of align (a power of two). */
void flow__wbuf_align(flow__wbuf_t *b, size_t align);
/* Hand the data to the caller (free with flow__free) and reset b. */
void *flow__wbuf_take(flow__wbuf_t *b, size_t *out_len);

typedef struct flow__rbuf {
    const uint8_t *p; /* Start of the input. */
    size_t len;       /* Input length. */
    size_t pos;       /* Next byte to read. */
    int failed;       /* Set when a read ran past the end or a check failed. */
} flow__rbuf_t;

void flow__rbuf_init(flow__rbuf_t *r, const void *p, size_t len);
uint8_t flow__rbuf_u8(flow__rbuf_t *r);
uint32_t flow__rbuf_u32(flow__rbuf_t *r);
uint64_t flow__rbuf_u64(flow__rbuf_t *r);
double flow__rbuf_f64(flow__rbuf_t *r);
/* Borrow n raw bytes (NULL and failed when fewer remain). */
const void *flow__rbuf_raw(flow__rbuf_t *r, size_t n);
/* Borrow a u32-length-prefixed byte string. */
const void *flow__rbuf_bytes(flow__rbuf_t *r, size_t *out_len);
/* Copy a length-prefixed string into a new NUL-terminated one (flow__free it);
 * NULL when failed. */
char *flow__rbuf_strdup(flow__rbuf_t *r);
/* Skip padding to a multiple of align. */
void flow__rbuf_align(flow__rbuf_t *r, size_t align);
/* True when nothing failed. */
static inline int flow__rbuf_ok(const flow__rbuf_t *r) { return !r->failed; }
static inline size_t flow__rbuf_left(const flow__rbuf_t *r) { return r->len - r->pos; }

#endif
