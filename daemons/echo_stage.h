/*  echo_stage: a work function that answers with a JSON description of the
    request exactly as the worker received it.

    Shared by prime_echod (one process) and prime_workerd --stage echo, and
    handy for checking what a front forwards. The answer is 200,
    application/json:

        {"method":"GET","target":"/a?x=1","path":"/a","version":"1.1",
         "query":[["x","1"]],"headers":[["Host","h"]],"body":"",
         "trailers":[]}

    query, headers and trailers are arrays of [name, value] pairs in the
    order received, duplicates kept. Every string is escaped so that the
    answer is valid JSON whatever the bytes: '"', '\' and control bytes are
    escaped, valid UTF-8 passes through, and every byte that is not part of
    a valid UTF-8 sequence comes out as \u00XX (its value as a code point).
    A job of another kind (netstring, or a later stage) is described as
    {"kind":"netstring"|"stage","frames":["...", ...]}.
*/
#ifndef ECHO_STAGE_H_INCLUDED
#define ECHO_STAGE_H_INCLUDED

#include "prime_server/prime_server.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Append size bytes of data as one JSON string, quotes included, to out.
void echo_json_string (zchunk_t *out, const void *data, size_t size);

//  The JSON description of an HTTP request. Caller owns.
zchunk_t *echo_describe_request (const ps_http_request_t *request);

//  The JSON description of other payloads (kind PS_KIND_NETSTRING or
//  PS_KIND_STAGE, frames borrowed). Caller owns.
zchunk_t *echo_describe_frames (ps_kind_t kind, zmsg_t *frames);

//  The work function (arg unused): 200 application/json, the description.
int echo_stage_work (ps_work_t *work, void *arg);

#ifdef __cplusplus
}
#endif
#endif
