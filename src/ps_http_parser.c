/* ps_http_parser: not written yet */
#include "prime_server/prime_server.h"
