/* err.h - error records inside lib/
 * Code in lib/ cannot see the driver's context, so fallible internal calls take
 * a flow__err_t to fill: a status code, whether the failure is permanent (not
 * worth retrying), and a message that says what and where. The driver copies
 * it into the context's last error. Call order: flow__err_set (returns the
 * code, so `return flow__err_set(err, FLOW_EINVAL, "...")` reads naturally). */
#ifndef FLOW_ERR_H
#define FLOW_ERR_H

#include "flow.h"

#define FLOW_ERRMSG_MAX 1024

typedef struct flow__err {
    int code;                   /* FLOW_OK or a negative FLOW_E* code. */
    int permanent;              /* Nonzero: retrying cannot help. */
    uint32_t dataset;           /* Dataset whose operator failed, or 0. */
    char msg[FLOW_ERRMSG_MAX];  /* NUL-terminated message; "" when code is 0. */
} flow__err_t;

/* Record an error and return code. A NULL err is allowed (the error is dropped). */
int flow__err_set(flow__err_t *err, int code, const char *fmt, ...) FLOW_PRINTF(3, 4);
/* Prefix the existing message with "prefix: ". */
void flow__err_prefix(flow__err_t *err, const char *fmt, ...) FLOW_PRINTF(2, 3);
/* Clear err to FLOW_OK. */
void flow__err_clear(flow__err_t *err);

#endif
