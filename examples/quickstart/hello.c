/* hello.c: one job through a gateway, from C (see README.md, "Quick start").
 * The gateway: $OFFLOAD_GATEWAY, else tcp://127.0.0.1:5555. */
#include <offload.h>
#include <stdio.h>

int main(void)
{
    offload_client *c = offload_connect(NULL);
    offload_result *r;
    if (!c || offload_call(c, "io", "echo", "hello from C", 12, NULL, &r) < 0) {
        fprintf(stderr, "no answer: %s\n", c ? offload_errstr(c) : "out of memory");
        offload_free(c);
        return 1;
    }
    int ok = r->code == OFFLOAD_OK;
    if (ok)
        printf("%.*s\n", (int)r->len, (const char *)r->payload);
    else
        fprintf(stderr, "%s: %s\n", r->error, r->message); /* e.g. "timeout: ..." */
    offload_result_free(r);
    offload_free(c);
    return ok ? 0 : 1;
}
