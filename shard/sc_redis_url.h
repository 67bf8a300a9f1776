/* sc_redis_url: the redis://[[user]:password@]host[:port][/db] grammar,
 * shared by the node's --redis and shardctl's, so an operator can paste
 * one into the other. The db number is accepted and ignored: Pub/Sub and
 * the cluster keys live in database 0. */
#ifndef SC_REDIS_URL_H
#define SC_REDIS_URL_H

struct sc_redis_url {
    char host[256];
    int port;        /* 6379 when not given */
    char *user;      /* NULL unless given; owned */
    char *password;  /* NULL unless given; owned */
};

/* Parse url into *u (any previous content is ignored, not freed). Returns 0,
 * -EINVAL for bad syntax or -ENOMEM; on error *u holds nothing to free. */
int sc_redis_url_parse(const char *url, struct sc_redis_url *u);

/* Free the strings of *u; it may be parsed into again. */
void sc_redis_url_free(struct sc_redis_url *u);

#endif
