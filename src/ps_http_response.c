/* ps_http_response: not written yet */
#include "prime_server/prime_server.h"
