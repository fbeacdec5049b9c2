/* executor.h - the executor runtime
 * An executor connects a DEALER socket to the driver's scheduler endpoint,
 * registers, and then runs the tasks it is sent one at a time with a task
 * runner, answering each with a RESULT. Tasks that arrive while one runs are
 * queued (the driver keeps a few in flight per slot, so an executor never
 * waits for its next task); a CANCEL drops the job's queued tasks (each
 * answered as cancelled) and stops its running task at the runner's next
 * cancellation check. Local modes run this loop in threads of the user's
 * process; executor processes run the same loop.
 * A process started with FLOW_EXECUTOR_STDIO=1 in its environment is taken
 * over before main by libflow's constructor: it reads tasks from stdin
 * (each a u64 little-endian length then the bytes), writes each result the
 * same way to stdout, and exits at end of input. */
#ifndef FLOW_EXECUTOR_H
#define FLOW_EXECUTOR_H

#include "runner.h"

typedef struct flow__executor_cfg {
    void *zctx;          /* ZeroMQ context to make the socket in. */
    char endpoint[128];  /* The driver's scheduler endpoint. */
    uint32_t id;         /* Executor id (1, 2, ...). */
    size_t chunk_size;   /* Largest message payload. */
    flow__exec_env_t env; /* Block store, peers and memory limits for tasks. */
} flow__executor_cfg_t;

/* Run the executor loop until STOP or a transport failure; returns 0 or a
 * negative status. */
int flow__executor_run(const flow__executor_cfg_t *cfg);
/* pthread entry point wrapping flow__executor_run (arg: the cfg). */
void *flow__executor_thread(void *cfg);

#endif
