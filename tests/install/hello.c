/* hello.c - an outside program built against the installed libflow. */
#include <flow.h>
#include <stdio.h>

static int is_even(flow_task_t *t, const flow_rec_t *rec, const flow_buf_t *arg)
{
    (void)t, (void)arg;
    return flow_i64(rec->val) % 2 == 0;
}

int main(void)
{
    char *err = NULL;
    flow_context_t *ctx = flow_context_open("local[2]", &err);
    if (!ctx) {
        fprintf(stderr, "hello: %s\n", err);
        flow_free(err);
        return 1;
    }
    flow_dataset_t *nums = flow_dataset_range(ctx, 0, 100, 1, 4);
    flow_dataset_t *even = flow_dataset_filter(nums, is_even, NULL, 0);
    uint64_t n = 0;
    if (flow_dataset_count(even, &n) != FLOW_OK) {
        fprintf(stderr, "hello: %s\n", flow_last_error(ctx));
        return 1;
    }
    flow_context_destroy(&ctx);
    printf("even numbers below 100: %llu\n", (unsigned long long)n);
    return n == 50 ? 0 : 1;
}
