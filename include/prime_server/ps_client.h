/*  ps_client: a batch HTTP client over real TCP connections.

    Keeps at most max_in_flight requests outstanding (pipelined over a few
    keep-alive connections) and hands every response to a callback. Used by
    the prime_serverd simulation, the tests and the benchmarks.
*/
#ifndef PS_CLIENT_H_INCLUDED
#define PS_CLIENT_H_INCLUDED

#include "ps_export.h"
#include "ps_http.h"
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Produce the next request: set *request_p to its raw bytes (taken) and
//  *head to true if it is a HEAD request. Return 0, or -1 when there are no
//  more requests. arg is the config's arg, last in both callbacks as in
//  every callback of the library.
typedef int (ps_client_request_fn) (zchunk_t **request_p, bool *head, void *arg);

//  A response, in the order its request was produced (borrowed).
typedef void (ps_client_response_fn) (const ps_http_response_t *response, void *arg);

typedef struct {
    const char *host;  //  "127.0.0.1", "::1" or a name
    int port;
    size_t connections;    //  keep-alive connections (default 1)
    size_t max_in_flight;  //  outstanding requests in all (default 64)
    int timeout_ms;        //  no progress for this long: fail (default 10000)
    ps_client_request_fn *request;
    ps_client_response_fn *response;
    void *arg;
} ps_client_config_t;

PS_EXPORT void ps_client_config_defaults (ps_client_config_t *config);

//  Run in the calling thread until the request function says no more and
//  every response has arrived. Returns the number of responses, or -1 on a
//  connection error, a malformed response or a timeout (logged).
PS_EXPORT long ps_client_run (const ps_client_config_t *config);

#ifdef __cplusplus
}
#endif
#endif
