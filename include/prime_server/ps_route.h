/*  ps_route: one entry of a server's routing table.

    A server with routes sends each request to the first proxy of the
    workflow its path belongs to, and answers 404 itself, touching no
    worker, when no route matches. A route matches its path exactly, or as
    a prefix (see prefix below); when several match, the longest path wins,
    and an exact route wins over a prefix of the same length. A route may
    carry its own request timeout and maximum body size: a workflow of
    cheap lookups and one of expensive batch jobs want different limits.
*/
#ifndef PS_ROUTE_H_INCLUDED
#define PS_ROUTE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A zeroed field means its default, given with each; path and proxy are
//  required.
typedef struct {
    const char *path;        //  starts with '/'; compared with the request's path (no query)
    bool prefix;             //  false: the path exactly; true: the path and whatever lies
                             //  below it ("/api" matches "/api", "/api/x", not "/apix";
                             //  "/" or "/api/" match every path that begins so)
    const char *proxy;       //  PUSH, connected: the workflow's first proxy upstream
    int request_timeout_ms;  //  504 after this; 0: the server's request_timeout_ms;
                             //  negative: none, whatever the server's
    size_t max_body;         //  larger bodies get 413; 0: the server's limits.max_body
} ps_route_t;

#ifdef __cplusplus
}
#endif
#endif
