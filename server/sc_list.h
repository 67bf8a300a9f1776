/* sc_list: one intrusive doubly linked list, for every list of the node
 * (keep-alive lists, a channel's subscribers, the registry's dirty list,
 * the token-deadline wheel).
 *
 * An element embeds a struct sc_link and is found from it again with
 * sc_container_of(). A list knows its head, its tail and its length, so
 * appending, unlinking and counting are O(1) and nothing is allocated.
 * An element is on at most one list per link; sc_list_unlink() clears the
 * link, so a cleared link (prev and next NULL, and not the only element)
 * is never unlinked twice by mistake: callers keep their own "on which
 * list" state where an element can be on none. */
#ifndef SC_LIST_H
#define SC_LIST_H

#include <stddef.h>

#define sc_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct sc_link {
    struct sc_link *prev, *next;
};

struct sc_list {
    struct sc_link *head, *tail;
    size_t count;
};

static inline void sc_list_init(struct sc_list *l)
{
    l->head = l->tail = NULL;
    l->count = 0;
}

/* Append n at the tail (FIFO order). */
static inline void sc_list_append(struct sc_list *l, struct sc_link *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    l->count++;
}

/* Insert n at the head. */
static inline void sc_list_prepend(struct sc_list *l, struct sc_link *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
    l->count++;
}

/* Take n, which must be on l, off it; n's link is cleared. */
static inline void sc_list_unlink(struct sc_list *l, struct sc_link *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
    l->count--;
}

#endif
