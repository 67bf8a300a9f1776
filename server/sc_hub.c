/* sc_hub: the state a node's connections share (see the header). */
#include "sc_hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Frames gathered into one send. Large enough to amortise the syscall over
 * a hundred small messages, small enough that what lws copies when a
 * client's socket is full stays modest. */
#define SCRATCH_BYTES (16 * 1024)

int sc_hub_init(struct sc_hub *h, const struct sc_config *cfg, uv_loop_t *loop,
                const struct sc_hub_ops *ops)
{
    memset(h, 0, sizeof(*h));
    h->ops = ops;
    h->cfg = cfg;
    h->loop = loop;
    h->limits.max_channels = (size_t)cfg->max_channels;
    h->limits.max_channel_length = (size_t)cfg->max_channel_length;
    h->limits.utf8 = cfg->channel_set == SC_CHANNEL_UTF8;
    h->scratch_cap = SCRATCH_BYTES;
    if (!(h->scratch = malloc(LWS_PRE + SCRATCH_BYTES)))
        return -ENOMEM;
    if (sc_registry_init(&h->reg) < 0) {
        free(h->scratch);
        h->scratch = NULL;
        return -ENOMEM;
    }
    return 0;
}

void sc_hub_free(struct sc_hub *h)
{
    sc_auth_claims_free(h->upgrade_claims);
    h->upgrade_claims = NULL;
    free(h->auth_wheel);
    h->auth_wheel = NULL;
    free(h->flush);
    h->flush = NULL;
    sc_registry_destroy(&h->reg);
    free(h->scratch);
    h->scratch = NULL;
}
