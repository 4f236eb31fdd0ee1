#ifndef TESTUTIL_H
#define TESTUTIL_H
#include "prime_server/prime_server.h"
#endif
