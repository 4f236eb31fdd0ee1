/*  prime_server: HTTP services as pipelines of worker pools over ZeroMQ.

        client <-> server -> proxy <-> workers -> proxy <-> workers ...
                     ^                   |                     |
                     +------ loopback ---+---------------------+

    Protocol layer: ps_netstring, ps_pairs, ps_http, ps_envelope.
    Components: ps_server, ps_proxy, ps_worker, ps_client.
    Services: ps_pipeline (the wiring), ps_service (options, signals, drain).
*/
#ifndef PRIME_SERVER_H_INCLUDED
#define PRIME_SERVER_H_INCLUDED

#include <czmq.h>

#include "ps_version.h"

#include "ps_netstring.h"
#include "ps_pairs.h"
#include "ps_http.h"
#include "ps_envelope.h"
#include "ps_proxy.h"
#include "ps_worker.h"
#include "ps_server.h"
#include "ps_client.h"
#include "ps_pipeline.h"
#include "ps_service.h"
#include "ps_curve.h"

#endif
