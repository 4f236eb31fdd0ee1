/*  ps_graph: the edges and routes of a pipeline that is a graph rather
    than a line. Private to ps_pipeline (not installed): it checks and
    keeps the description; ps_pipeline.c turns it into the server's routes
    and the workers' named downstreams once the endpoints are known.
*/
#ifndef PS_GRAPH_H_INCLUDED
#define PS_GRAPH_H_INCLUDED

#include "prime_server/ps_route.h"
#include "prime_server/ps_worker.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t from;  //  the stage whose workers forward
    char *name;   //  the name they forward to
    size_t to;    //  the stage whose proxy takes the jobs
} ps_graph_edge_t;

typedef struct {
    ps_route_t route;  //  its path is ours; its proxy unset
    size_t stage;      //  the stage whose proxy takes the requests
} ps_graph_route_t;

typedef struct _ps_graph_t ps_graph_t;

ps_graph_t *ps_graph_new (void);
void ps_graph_destroy (ps_graph_t **self_p);

//  True while neither an edge nor a route was added: the pipeline is a
//  line (server -> stage 0 -> stage 1 ...).
bool ps_graph_is_line (ps_graph_t *self);

//  Adds an edge between stages (both < stage_count). Returns 0, or -1 with
//  the reason written to error.
int ps_graph_add_edge (ps_graph_t *self, size_t stage_count, size_t from, const char *name,
                       size_t to, char *error, size_t error_size);

//  Adds a route to stage (< stage_count). Returns 0, or -1 with the reason.
int ps_graph_add_route (ps_graph_t *self, size_t stage_count, const ps_route_t *route, size_t stage,
                        char *error, size_t error_size);

//  True if the server sends jobs to stage: the stage of a route or, with
//  no routes, stage 0.
bool ps_graph_is_entry (ps_graph_t *self, size_t stage);

//  Marks in reached (stage_count entries) the stages a job can get to:
//  the entries, then along the edges (in a line, every stage).
void ps_graph_reached (ps_graph_t *self, size_t stage_count, bool *reached);

//  What was added, in order (borrowed).
const ps_graph_edge_t *ps_graph_edges (ps_graph_t *self, size_t *count);
const ps_graph_route_t *ps_graph_routes (ps_graph_t *self, size_t *count);

//  The edges from stage, as a worker's downstreams, with endpoints taken
//  from upstreams (by stage index). Caller frees the array (the strings
//  are borrowed); *count 0 and NULL for a stage with none.
ps_downstream_t *ps_graph_downstreams (ps_graph_t *self, size_t stage, char *const *upstreams,
                                       size_t *count);

//  The routes for the server, each one's proxy from upstreams. Caller
//  frees the array; NULL and 0 when there are none.
ps_route_t *ps_graph_server_routes (ps_graph_t *self, char *const *upstreams, size_t *count);

#endif
