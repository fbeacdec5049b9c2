/* fnref.h - portable references to user functions
 * A task names each UDF as (module build-id, offset from the module's load
 * address) instead of a raw pointer. An executor running the same build, in
 * this process or another one started from the same binary, finds the module
 * with that build-id among its loaded modules and adds the offset to its load
 * address. This survives address-space randomisation, covers static functions
 * (which have no symbol name) and turns a mismatched build into a clear error
 * instead of a jump into the wrong code.
 *
 *   encoded: | idlen: u8 | build-id: idlen bytes | offset: u64 | module: str |
 *   idlen == 0 encodes "no function" (and nothing follows). */
#ifndef FLOW_FNREF_H
#define FLOW_FNREF_H

#include "buf.h"
#include "err.h"

#define FLOW_BUILD_ID_MAX 64

typedef struct flow__fnref {
    uint8_t idlen;                      /* Build-id length; 0 for no function. */
    uint8_t build_id[FLOW_BUILD_ID_MAX]; /* The module's GNU build-id. */
    uint64_t offset;                    /* Function address minus load address. */
    char module[128];                   /* Module file name, for messages. */
} flow__fnref_t;

/* Make a reference to fn (NULL gives the empty reference). FLOW_EINVAL when fn
 * lies in no loaded module's code or its module has no build-id. */
int flow__fnref_make(const void *fn, flow__fnref_t *out, flow__err_t *err);
/* The address in this process, or NULL with err set (FLOW_EINVAL) when no
 * loaded module has the build-id or the offset is outside its code. The empty
 * reference resolves to NULL with no error. */
void *flow__fnref_resolve(const flow__fnref_t *ref, flow__err_t *err);
void flow__fnref_encode(flow__wbuf_t *b, const flow__fnref_t *ref);
/* Decode; failure shows in flow__rbuf_ok(r). */
void flow__fnref_decode(flow__rbuf_t *r, flow__fnref_t *out);

#endif
