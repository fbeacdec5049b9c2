/* aggtable.h - the hash table of map-side combine and reduce-side aggregation
 * Open addressing with linear probing over a power-of-two array of 32-byte
 * entries, two to a cache line, so that a probe costs one miss (the table
 * of a word count is far larger than the caches). An entry keeps 32 bits of
 * the key's XXH3 hash (the low half: the partitioner uses the high one),
 * keys of up to 16 bytes inline and longer ones in the table's arena, values
 * of up to 8 bytes inline (a wordcount's counts cost no pointer chase) and
 * longer ones in the arena behind a length header, reused in place when a
 * new value fits. The table grows at 70% load. flow__agg_bytes is what the
 * table holds, for the memory budget. Entries move when the table grows:
 * pointers from upsert are valid until the next upsert. */
#ifndef FLOW_AGGTABLE_H
#define FLOW_AGGTABLE_H

#include "rec.h"

#define FLOW_AGG_INLINE_KEY 16
#define FLOW_AGG_EXT 0xFF /* klen or vlen byte: the bytes are in the arena. */

typedef struct flow__agg_entry {
    uint32_t tag;  /* Low half of the key's XXH3-64 (0 -> 1); 0 marks an empty slot. */
    uint8_t klen;  /* Key length up to FLOW_AGG_INLINE_KEY, or FLOW_AGG_EXT. */
    uint8_t vlen;  /* Value length up to 8, or FLOW_AGG_EXT. */
    uint16_t pad;  /* Zero. */
    union {
        uint8_t inl[FLOW_AGG_INLINE_KEY]; /* Short key bytes, zero-padded. */
        struct {
            const uint8_t *ptr;           /* Long key in the arena. */
            uint64_t len;                 /* Its length. */
        } ext;
    } key;
    union {
        uint64_t inl;  /* Value of up to 8 bytes (8-aligned). */
        uint8_t *ptr;  /* Longer value in the arena (8-aligned), after a vhdr. */
    } val;
} flow__agg_entry_t;

_Static_assert(sizeof(flow__agg_entry_t) == 32, "two entries to a cache line");

/* The header of a value in the arena. */
typedef struct flow__agg_vhdr {
    uint32_t len; /* Value length. */
    uint32_t cap; /* Bytes after the header. */
} flow__agg_vhdr_t;

typedef struct flow__aggtable {
    flow__agg_entry_t *slots; /* The table. */
    size_t cap;               /* Number of slots (a power of two). */
    unsigned shift;           /* 64 - log2(cap): slots come from the top bits. */
    uint64_t salt;            /* Mixed into slot numbers (see flow__agg_init). */
    size_t limit;             /* Memory the table may use (from flow__agg_init). */
    size_t count;             /* Entries in use. */
    flow__arena_t arena;      /* Long keys and values. */
} flow__aggtable_t;

/* salt picks the table's slot order. Tables fed from other tables' output
 * (a reduce task reads map outputs written in their tables' slot order) must
 * use another salt, or the keys arrive in slot order and pile into long
 * probe runs. */
#define FLOW_AGG_SALT_MAP 0x243F6A8885A308D3ull
#define FLOW_AGG_SALT_REDUCE 0x13198A2E03707344ull
/* limit: the memory the table may use; a kept slot array (see aggtable.c)
 * is only reused when it takes at most half of it. */
void flow__agg_init(flow__aggtable_t *t, uint64_t salt, size_t limit);
void flow__agg_free(flow__aggtable_t *t);
/* Forget every entry, keeping the memory for reuse. */
void flow__agg_clear(flow__aggtable_t *t);
/* Empty a table that holds the one entry e, without touching its other
 * slots (a merge that reuses a big table for one key at a time). */
void flow__agg_clear_only(flow__aggtable_t *t, flow__agg_entry_t *e);
uint64_t flow__agg_hash(const void *key, size_t klen);
/* The entry of key, inserting an empty one (vlen 0) when absent (*isnew). */
flow__agg_entry_t *flow__agg_upsert(flow__aggtable_t *t, const void *key, size_t klen,
                                    uint64_t hash, int *isnew);
static inline int flow__agg_used(const flow__agg_entry_t *e)
{
    return e->tag != 0;
}
static inline size_t flow__agg_klen(const flow__agg_entry_t *e)
{
    return e->klen == FLOW_AGG_EXT ? (size_t)e->key.ext.len : e->klen;
}
static inline const void *flow__agg_key(const flow__agg_entry_t *e)
{
    return e->klen == FLOW_AGG_EXT ? e->key.ext.ptr : e->key.inl;
}
static inline size_t flow__agg_vlen(const flow__agg_entry_t *e)
{
    return e->vlen == FLOW_AGG_EXT ? ((const flow__agg_vhdr_t *)e->val.ptr - 1)->len : e->vlen;
}
static inline void *flow__agg_val(flow__agg_entry_t *e)
{
    return e->vlen == FLOW_AGG_EXT ? (void *)e->val.ptr : (void *)&e->val.inl;
}
/* The entry's value when it is an inline 8-byte word (a count, a sum), else
 * NULL. */
static inline uint64_t *flow__agg_word(flow__agg_entry_t *e)
{
    return e->vlen == 8 ? &e->val.inl : NULL;
}
/* Make the value of a new (empty) entry the 8-byte word w. */
static inline void flow__agg_set_word(flow__agg_entry_t *e, uint64_t w)
{
    e->val.inl = w;
    e->vlen = 8;
}
/* The full hash of the entry's key (recomputed: the entry keeps half). */
uint64_t flow__agg_entry_hash(const flow__agg_entry_t *e);
/* The tag an entry keeps of a hash. */
static inline uint32_t flow__agg_tag(uint64_t hash)
{
    uint32_t tag = (uint32_t)hash;
    return tag ? tag : 1;
}
/* The home slot of a tag: multiplicative hashing of the salted tag, top bits. */
static inline size_t flow__agg_slot(const flow__aggtable_t *t, uint32_t tag)
{
    return (size_t)(((uint64_t)(tag ^ (uint32_t)t->salt) * 0x9E3779B97F4A7C15ull) >> t->shift);
}
/* Start loading the home slot of hash into the cache. */
static inline void flow__agg_prefetch(const flow__aggtable_t *t, uint64_t hash)
{
    __builtin_prefetch(&t->slots[flow__agg_slot(t, flow__agg_tag(hash))], 1);
}
/* Start loading the long key and value of e (a slot, used or not), for a
 * scan of the slots that reaches it a few slots on: otherwise every entry
 * holding one costs the scan a cache miss. */
#define FLOW_AGG_SCAN_AHEAD 8
static inline void flow__agg_prefetch_ext(const flow__aggtable_t *t, size_t slot)
{
    if (slot >= t->cap)
        return;
    const flow__agg_entry_t *e = &t->slots[slot];
    if (e->klen == FLOW_AGG_EXT)
        flow__prefetch(e->key.ext.ptr);
    if (e->vlen == FLOW_AGG_EXT)
        flow__prefetch((const flow__agg_vhdr_t *)e->val.ptr - 1);
}
/* Store v as the entry's value (v may point into the entry's own value). */
void flow__agg_set_val(flow__aggtable_t *t, flow__agg_entry_t *e, const void *v, size_t vlen);
/* Append vlen bytes to the entry's value (old + vlen <= FLOW_REC_MAX), in
 * place while its room lasts. */
void flow__agg_append_val(flow__aggtable_t *t, flow__agg_entry_t *e, const void *v,
                          size_t vlen);
/* The entry as a keyed record (valid until the table changes). */
flow_rec_t flow__agg_rec(flow__agg_entry_t *e);
/* Bytes the table holds (slots and arena). */
size_t flow__agg_bytes(const flow__aggtable_t *t);
/* Free this thread's kept slot array (when an executor thread or a runner
 * ends). */
void flow__agg_release_spare(void);
/* The entries in use, sorted by (part(hash of the key), key bytes) when
 * part is given or by key bytes alone; an array the caller frees with
 * flow__free. */
flow__agg_entry_t **flow__agg_sorted(flow__aggtable_t *t, uint32_t (*part)(uint64_t, void *),
                                     void *ud);

#endif
