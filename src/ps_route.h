/*  ps_route_table: the server's routes, matched by path. Private to the
    server (not installed); pure data, so its own suite tests it without
    sockets (tests/check_ps_route.c).
*/
#ifndef PS_ROUTE_TABLE_H_INCLUDED
#define PS_ROUTE_TABLE_H_INCLUDED

#include "prime_server/ps_route.h"
#include <czmq.h>

typedef struct _ps_route_table_t ps_route_table_t;

//  An empty table. Never NULL.
ps_route_table_t *ps_route_table_new (void);

//  Accepts NULL.
void ps_route_table_destroy (ps_route_table_t **self_p);

//  Adds a copy of route (its strings too). Returns its index (0 for the
//  first), or -1 for a route refused, logged with the reason: no path, a
//  path not starting with '/', no proxy, or the same path and kind twice.
int ps_route_table_add (ps_route_table_t *self, const ps_route_t *route);

//  The index of the route for path (the longest match; an exact route
//  before a prefix of the same length), or -1 if none matches.
int ps_route_table_match (ps_route_table_t *self, const char *path);

size_t ps_route_table_size (ps_route_table_t *self);

//  Route index as added (borrowed until destroy).
const ps_route_t *ps_route_table_get (ps_route_table_t *self, size_t index);

#endif
