/*  ps_envelope: the first frame of every message on the backend sockets.

    16 bytes, integers big-endian (docs/PROTOCOL.md):

        0     version   PS_PROTOCOL_VERSION (2)
        1     type      ps_msg_type_t
        2     flags     PS_FLAG_*
        3     kind      ps_kind_t: how the payload frames are laid out
        4-5   status    HTTP status of a RESULT, else 0
        6-7   credit    READY: jobs the worker may hold at once, else 0
        8-15  id        request id given by the server; in a busy BEAT the
                        job the worker is on; else 0

    Every receiver checks size, version and type before it reads anything
    else and drops junk with a log line. Each field means one thing in
    every message; a message that says something new is a new type.
*/
#ifndef PS_ENVELOPE_H_INCLUDED
#define PS_ENVELOPE_H_INCLUDED

#include "ps_export.h"
#include <czmq.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PS_PROTOCOL_VERSION 2
#define PS_ENVELOPE_SIZE    16

typedef enum {
    PS_MSG_JOB = 1,     //  server or worker -> proxy -> worker: [env][payload...]
    PS_MSG_RESULT = 2,  //  worker -> server loopback: [env][headers pairs][body]
    PS_MSG_READY = 3,   //  worker -> proxy: [env credit][heartbeat] (heartbeat optional)
    PS_MSG_CANCEL = 4,  //  server interrupt PUB -> workers: [env id]
    PS_MSG_BEAT = 5,    //  worker -> proxy, liveness only: idle [env][heartbeat]? from
                        //  the job socket, or busy [env BUSY id=job][worker's routing id]
    PS_MSG_PING = 6,    //  proxy -> worker job socket: [env], the answer to an idle beat
    PS_MSG_STATS = 7,   //  proxy -> server loopback: [env][stage name][figures]
    //  A streamed answer (docs/PROTOCOL.md, "Streamed answers"), worker ->
    //  server loopback: START, any number of PARTs, then END or ABORT; the
    //  server paces the worker with GRANTs on the interrupt PUB.
    PS_MSG_START = 8,   //  [env status][headers pairs][size: 8 bytes, or empty if unknown]
    PS_MSG_PART = 9,    //  [env][body bytes] (not empty)
    PS_MSG_END = 10,    //  [env]: the body is complete
    PS_MSG_ABORT = 11,  //  [env]: the body cannot be completed; the client is disconnected
    PS_MSG_GRANT = 12,  //  server interrupt PUB -> workers: [env id][8 bytes: body bytes
                        //  the worker may have sent in all]
    //  A job given back unstarted by the worker it was queued at (that
    //  worker's job in hand turned out long), to run at another:
    PS_MSG_RETURN = 13  //  worker -> proxy: the JOB's envelope and payload, type RETURN
} ps_msg_type_t;

//  Body bytes a streaming worker may send before its first GRANT.
#define PS_STREAM_INITIAL_GRANT 65536

typedef enum {
    PS_KIND_HTTP = 1,       //  payload is an encoded ps_http_request (first stage)
    PS_KIND_NETSTRING = 2,  //  payload is one frame, the netstring's bytes
    PS_KIND_STAGE = 3       //  payload is whatever the previous stage forwarded
} ps_kind_t;

#define PS_FLAG_BUSY 0x01  //  READY/BEAT from a worker still on its job
#define PS_FLAG_HEAD 0x02  //  JOB/RESULT: the request was HEAD
#define PS_FLAG_LOST 0x08  //  RESULT from a proxy: the worker holding the job was lost (502)

typedef struct {
    uint8_t type;
    uint8_t flags;
    uint8_t kind;
    uint16_t status;
    uint16_t credit;
    uint64_t id;
} ps_envelope_t;

//  Write the 16 bytes of the envelope to out, for a send without a frame.
PS_EXPORT void ps_envelope_pack (const ps_envelope_t *envelope, byte out[PS_ENVELOPE_SIZE]);

//  Encode as a new 16-byte frame. Caller owns.
PS_EXPORT zframe_t *ps_envelope_encode (const ps_envelope_t *envelope);

//  Decode a frame; returns 0, or -1 if it is not a valid envelope (size,
//  version, unknown type). Does not take the frame.
PS_EXPORT int ps_envelope_decode (zframe_t *frame, ps_envelope_t *envelope);

//  The version byte of a frame the size of an envelope, or -1: lets a
//  receiver say that a peer speaks another version of the protocol.
PS_EXPORT int ps_envelope_version (zframe_t *frame);

//  Send [envelope] + the frames of *payload_p (may be NULL) on sock, taking
//  the payload. Returns 0, or -1 if the send failed (e.g. timed out).
PS_EXPORT int ps_envelope_send (const ps_envelope_t *envelope, zmsg_t **payload_p, void *sock);

#ifdef __cplusplus
}
#endif
#endif
