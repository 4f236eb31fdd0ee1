/* ps_http_response_parser: not written yet */
#include "prime_server/prime_server.h"
