/*  ps_route_table: routes by path (see ps_route.h and ps_route_table's
    header). A table holds a few routes, matched once per request: a linear
    scan keeping the longest match costs less than any index would, and
    needs no ordering rule beyond "longest, then exact".
*/
#include "ps_route.h"

#include <string.h>

struct _ps_route_table_t {
    ps_route_t *routes;  //  copies; path and proxy are our strings
    size_t size;
};

ps_route_table_t *
ps_route_table_new (void)
{
    ps_route_table_t *self = (ps_route_table_t *) zmalloc (sizeof (ps_route_table_t));
    assert (self);
    return self;
}

void
ps_route_table_destroy (ps_route_table_t **self_p)
{
    assert (self_p);
    ps_route_table_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++) {
        free ((char *) self->routes[i].path);
        free ((char *) self->routes[i].proxy);
    }
    free (self->routes);
    free (self);
    *self_p = NULL;
}

int
ps_route_table_add (ps_route_table_t *self, const ps_route_t *route)
{
    assert (self);
    assert (route);
    if (!route->path || route->path[0] != '/') {
        zsys_error ("ps_server: route %zu: its path must start with '/'", self->size + 1);
        return -1;
    }
    if (!route->proxy) {
        zsys_error ("ps_server: route %s: no proxy", route->path);
        return -1;
    }
    for (size_t i = 0; i < self->size; i++)
        if (streq (self->routes[i].path, route->path) && self->routes[i].prefix == route->prefix) {
            zsys_error ("ps_server: route %s%s given twice", route->path,
                        route->prefix ? " (prefix)" : "");
            return -1;
        }
    ps_route_t *routes = (ps_route_t *) realloc (self->routes,
                                                 (self->size + 1) * sizeof (ps_route_t));
    assert (routes);
    self->routes = routes;
    ps_route_t *copy = &self->routes[self->size];
    *copy = *route;
    copy->path = strdup (route->path);
    copy->proxy = strdup (route->proxy);
    assert (copy->path && copy->proxy);
    return (int) self->size++;
}

//  A prefix matches its own path and what lies below it: "/api" takes
//  "/api/x" but not "/apix", so one workflow cannot swallow a sibling's
//  name by accident; a prefix ending in '/' already marks the boundary.
static bool
s_prefix_matches (const char *prefix, size_t length, const char *path)
{
    if (strncmp (prefix, path, length) != 0)
        return false;
    return path[length] == '\0' || path[length] == '/' || prefix[length - 1] == '/';
}

int
ps_route_table_match (ps_route_table_t *self, const char *path)
{
    assert (self);
    if (!path)
        return -1;
    int best = -1;
    size_t best_length = 0;
    bool best_exact = false;
    for (size_t i = 0; i < self->size; i++) {
        const ps_route_t *route = &self->routes[i];
        size_t length = strlen (route->path);
        bool exact = !route->prefix;
        if (exact ? !streq (route->path, path) : !s_prefix_matches (route->path, length, path))
            continue;
        if (best == -1 || length > best_length || (length == best_length && exact && !best_exact)) {
            best = (int) i;
            best_length = length;
            best_exact = exact;
        }
    }
    return best;
}

size_t
ps_route_table_size (ps_route_table_t *self)
{
    assert (self);
    return self->size;
}

const ps_route_t *
ps_route_table_get (ps_route_table_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return &self->routes[index];
}
