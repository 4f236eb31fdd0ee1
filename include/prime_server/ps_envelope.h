/*  ps_envelope: the first frame of every message on the backend sockets.

    16 bytes, integers big-endian (docs/PROTOCOL.md):

        0     version   PS_PROTOCOL_VERSION (1)
        1     type      ps_msg_type_t
        2     flags     PS_FLAG_*
        3     kind      ps_kind_t: how the payload frames are laid out
        4-5   status    HTTP status of a RESULT, else 0
        6-7   reserved  0
        8-15  id        request id given by the server (0 for READY)

    Every receiver checks size, version and type before it reads anything
    else and drops junk with a log line.
*/
#ifndef PS_ENVELOPE_H_INCLUDED
#define PS_ENVELOPE_H_INCLUDED

#include "ps_export.h"
#include <czmq.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PS_PROTOCOL_VERSION 1
#define PS_ENVELOPE_SIZE    16

typedef enum {
    PS_MSG_JOB = 1,     //  server or worker -> proxy -> worker: [env][payload...]
    PS_MSG_RESULT = 2,  //  worker -> server loopback: [env][headers pairs][body]
    PS_MSG_READY = 3,   //  worker -> proxy: [env][heartbeat] (heartbeat frame optional)
    PS_MSG_CANCEL = 4   //  server interrupt PUB -> workers: [env]
} ps_msg_type_t;

typedef enum {
    PS_KIND_HTTP = 1,       //  payload is an encoded ps_http_request (first stage)
    PS_KIND_NETSTRING = 2,  //  payload is one frame, the netstring's bytes
    PS_KIND_STAGE = 3       //  payload is whatever the previous stage forwarded
} ps_kind_t;

#define PS_FLAG_BUSY 0x01  //  READY/heartbeat sent by a worker still working
#define PS_FLAG_HEAD 0x02  //  JOB/RESULT: the request was HEAD
#define PS_FLAG_BEAT 0x04  //  READY: a liveness beat that changes no state (docs/PROTOCOL.md)
#define PS_FLAG_LOST 0x08  //  RESULT from a proxy: the worker holding the job was lost (502)

typedef struct {
    uint8_t type;
    uint8_t flags;
    uint8_t kind;
    uint16_t status;
    uint64_t id;
} ps_envelope_t;

//  Encode as a new 16-byte frame. Caller owns.
PS_EXPORT zframe_t *ps_envelope_encode (const ps_envelope_t *envelope);

//  Decode a frame; returns 0, or -1 if it is not a valid envelope (size,
//  version, unknown type). Does not take the frame.
PS_EXPORT int ps_envelope_decode (zframe_t *frame, ps_envelope_t *envelope);

//  Send [envelope] + the frames of *payload_p (may be NULL) on sock, taking
//  the payload. Returns 0, or -1 if the send failed (e.g. timed out).
PS_EXPORT int ps_envelope_send (const ps_envelope_t *envelope, zmsg_t **payload_p, void *sock);

#ifdef __cplusplus
}
#endif
#endif
