/* ps_proxy: not written yet */
#include "prime_server/prime_server.h"
