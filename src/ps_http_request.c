/* ps_http_request: not written yet */
#include "prime_server/prime_server.h"
