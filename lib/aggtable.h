/* aggtable.h - the hash table of map-side combine and reduce-side aggregation
 * Open addressing with linear probing over a power-of-two array of entries,
 * keyed by key bytes and their XXH3 hash. Keys of up to 16 bytes live inline
 * in the entry, longer ones in the table's arena; values of up to 8 bytes live
 * inline too (so a wordcount's counts cost no pointer chase), longer ones in
 * the arena, reused in place when a new value fits. The table grows at 70%
 * load. flow__agg_bytes is what the table holds, for the memory budget.
 * Entries move when the table grows: pointers from upsert are valid until the
 * next upsert. */
#ifndef FLOW_AGGTABLE_H
#define FLOW_AGGTABLE_H

#include "rec.h"

#define FLOW_AGG_INLINE_KEY 16

typedef struct flow__agg_entry {
    uint64_t hash;  /* XXH3-64 of the key; 0 marks an empty slot (real 0 -> 1). */
    uint32_t klen;  /* Key length. */
    uint32_t vlen;  /* Value length. */
    uint32_t vcap;  /* Capacity of the out-of-line value, or 0 when inline. */
    uint32_t keyed; /* The record had a key (always 1 for shuffles). */
    union {
        uint8_t inl[FLOW_AGG_INLINE_KEY]; /* Short key bytes. */
        const uint8_t *ptr;               /* Long key in the arena. */
    } key;
    union {
        uint64_t inl;  /* Value of up to 8 bytes (8-aligned). */
        uint8_t *ptr;  /* Longer value in the arena (8-aligned). */
    } val;
} flow__agg_entry_t;

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
static inline const void *flow__agg_key(const flow__agg_entry_t *e)
{
    return e->klen <= FLOW_AGG_INLINE_KEY ? e->key.inl : e->key.ptr;
}
static inline void *flow__agg_val(flow__agg_entry_t *e)
{
    return e->vcap ? (void *)e->val.ptr : (void *)&e->val.inl;
}
/* Start loading the home slot of hash into the cache. */
void flow__agg_prefetch(const flow__aggtable_t *t, uint64_t hash);
/* Store v as the entry's value (v may point into the entry's own value). */
void flow__agg_set_val(flow__aggtable_t *t, flow__agg_entry_t *e, const void *v, size_t vlen);
/* The entry as a keyed record (valid until the table changes). */
flow_rec_t flow__agg_rec(flow__agg_entry_t *e);
/* Bytes the table holds (slots and arena). */
size_t flow__agg_bytes(const flow__aggtable_t *t);
/* Free this thread's kept slot array (when an executor thread or a runner
 * ends). */
void flow__agg_release_spare(void);
/* The entries in use, sorted by (part(hash), key bytes) when part is given
 * or by key bytes alone; an array the caller frees with flow__free. */
flow__agg_entry_t **flow__agg_sorted(flow__aggtable_t *t, uint32_t (*part)(uint64_t, void *),
                                     void *ud);

#endif
