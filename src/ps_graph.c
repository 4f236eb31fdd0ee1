/*  ps_graph: a pipeline's edges and routes (see ps_graph.h). Kept as the
    caller described them; checked as they come, so a mistake is reported
    by the call that made it.
*/
#include "ps_graph.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

//  Descriptions beyond these are mistakes, not services.
#define S_MAX_EDGES  1024
#define S_MAX_ROUTES 1024

struct _ps_graph_t {
    ps_graph_edge_t *edges;
    size_t edge_count;
    ps_graph_route_t *routes;
    size_t route_count;
};

ps_graph_t *
ps_graph_new (void)
{
    ps_graph_t *self = (ps_graph_t *) zmalloc (sizeof (ps_graph_t));
    assert (self);
    return self;
}

void
ps_graph_destroy (ps_graph_t **self_p)
{
    assert (self_p);
    ps_graph_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->edge_count; i++)
        free (self->edges[i].name);
    for (size_t i = 0; i < self->route_count; i++)
        free ((char *) self->routes[i].route.path);
    free (self->edges);
    free (self->routes);
    free (self);
    *self_p = NULL;
}

bool
ps_graph_is_line (ps_graph_t *self)
{
    assert (self);
    return self->edge_count == 0 && self->route_count == 0;
}

int
ps_graph_add_edge (ps_graph_t *self, size_t stage_count, size_t from, const char *name, size_t to,
                   char *error, size_t error_size)
{
    assert (self);
    if (from >= stage_count || to >= stage_count) {
        snprintf (error, error_size, "edge '%s': no stage %zu (stages are counted from 0 here)",
                  name ? name : "", from >= stage_count ? from : to);
        return -1;
    }
    if (!name || !*name) {
        snprintf (error, error_size, "edge from stage %zu: no name", from);
        return -1;
    }
    if (self->edge_count == S_MAX_EDGES) {
        snprintf (error, error_size, "edge '%s': at most %d edges", name, S_MAX_EDGES);
        return -1;
    }
    for (size_t i = 0; i < self->edge_count; i++)
        if (self->edges[i].from == from && streq (self->edges[i].name, name)) {
            snprintf (error, error_size, "stage %zu has two edges named '%s'", from, name);
            return -1;
        }
    ps_graph_edge_t *edges = (ps_graph_edge_t *) realloc (
        self->edges, (self->edge_count + 1) * sizeof (ps_graph_edge_t));
    assert (edges);
    self->edges = edges;
    self->edges[self->edge_count++] = (ps_graph_edge_t){from, strdup (name), to};
    return 0;
}

int
ps_graph_add_route (ps_graph_t *self, size_t stage_count, const ps_route_t *route, size_t stage,
                    char *error, size_t error_size)
{
    assert (self);
    assert (route);
    if (!route->path || route->path[0] != '/') {
        snprintf (error, error_size, "route '%s': a path starts with '/'",
                  route->path ? route->path : "");
        return -1;
    }
    if (stage >= stage_count) {
        snprintf (error, error_size, "route %s: no stage %zu (stages are counted from 0 here)",
                  route->path, stage);
        return -1;
    }
    if (self->route_count == S_MAX_ROUTES) {
        snprintf (error, error_size, "route %s: at most %d routes", route->path, S_MAX_ROUTES);
        return -1;
    }
    for (size_t i = 0; i < self->route_count; i++)
        if (streq (self->routes[i].route.path, route->path)
            && self->routes[i].route.prefix == route->prefix) {
            snprintf (error, error_size, "route %s given twice", route->path);
            return -1;
        }
    ps_graph_route_t *routes = (ps_graph_route_t *) realloc (
        self->routes, (self->route_count + 1) * sizeof (ps_graph_route_t));
    assert (routes);
    self->routes = routes;
    ps_graph_route_t *copy = &self->routes[self->route_count++];
    copy->route = *route;
    copy->route.path = strdup (route->path);
    copy->route.proxy = NULL;
    copy->stage = stage;
    return 0;
}

bool
ps_graph_is_entry (ps_graph_t *self, size_t stage)
{
    assert (self);
    if (self->route_count == 0)
        return stage == 0;
    for (size_t i = 0; i < self->route_count; i++)
        if (self->routes[i].stage == stage)
            return true;
    return false;
}

void
ps_graph_reached (ps_graph_t *self, size_t stage_count, bool *reached)
{
    assert (self);
    assert (reached || stage_count == 0);
    bool line = ps_graph_is_line (self);
    for (size_t s = 0; s < stage_count; s++)
        reached[s] = line || ps_graph_is_entry (self, s);
    //  Along the edges until nothing changes: a few stages, a few edges
    for (bool more = !line; more;) {
        more = false;
        for (size_t i = 0; i < self->edge_count; i++) {
            const ps_graph_edge_t *edge = &self->edges[i];
            if (edge->from < stage_count && edge->to < stage_count && reached[edge->from]
                && !reached[edge->to])
                more = reached[edge->to] = true;
        }
    }
}

const ps_graph_edge_t *
ps_graph_edges (ps_graph_t *self, size_t *count)
{
    assert (self);
    *count = self->edge_count;
    return self->edges;
}

const ps_graph_route_t *
ps_graph_routes (ps_graph_t *self, size_t *count)
{
    assert (self);
    *count = self->route_count;
    return self->routes;
}

ps_downstream_t *
ps_graph_downstreams (ps_graph_t *self, size_t stage, char *const *upstreams, size_t *count)
{
    assert (self);
    *count = 0;
    for (size_t i = 0; i < self->edge_count; i++)
        if (self->edges[i].from == stage)
            (*count)++;
    if (*count == 0)
        return NULL;
    ps_downstream_t *downstreams = (ps_downstream_t *) calloc (*count, sizeof (ps_downstream_t));
    assert (downstreams);
    size_t n = 0;
    for (size_t i = 0; i < self->edge_count; i++)
        if (self->edges[i].from == stage)
            downstreams[n++] = (ps_downstream_t){self->edges[i].name, upstreams[self->edges[i].to]};
    return downstreams;
}

ps_route_t *
ps_graph_server_routes (ps_graph_t *self, char *const *upstreams, size_t *count)
{
    assert (self);
    *count = self->route_count;
    if (*count == 0)
        return NULL;
    ps_route_t *routes = (ps_route_t *) calloc (*count, sizeof (ps_route_t));
    assert (routes);
    for (size_t i = 0; i < self->route_count; i++) {
        routes[i] = self->routes[i].route;
        routes[i].proxy = upstreams[self->routes[i].stage];
    }
    return routes;
}
