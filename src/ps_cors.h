/*  ps_cors: the server's Access-Control-Allow-Origin header. Private to
    the server (not installed).

    Added to the formatted response, after its status line, so that every
    kind of answer gets it the same way: a worker's result, the server's
    own answers (404, 503, 504...) and the parser's canned errors.
*/
#ifndef PS_CORS_H_INCLUDED
#define PS_CORS_H_INCLUDED

#include <czmq.h>

//  Inserts "Access-Control-Allow-Origin: origin" after the status line of
//  the HTTP response in *response_p, replacing the chunk. A response with
//  no complete status line is left as it is.
void ps_cors_add (zchunk_t **response_p, const char *origin);

#endif
