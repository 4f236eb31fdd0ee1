/*  ps_curve_private: a component's CURVE keys, loaded once when it starts,
    for ps_socket to set on every socket it makes. Not installed.
*/
#ifndef PS_CURVE_PRIVATE_H_INCLUDED
#define PS_CURVE_PRIVATE_H_INCLUDED

#include "prime_server/ps_curve.h"
#include <czmq.h>
#include <stdbool.h>

typedef struct _ps_curve_keys_t ps_curve_keys_t;

//  The keys curve names (curve->cert must be set), checked as
//  ps_curve_check does. NULL, logged as owner's, if they cannot be used.
ps_curve_keys_t *ps_curve_keys_new (const ps_curve_t *curve, const char *owner);

//  Accepts NULL.
void ps_curve_keys_destroy (ps_curve_keys_t **self_p);

//  Make sock a CURVE client of the binders' key, with our key pair, and
//  give it our trusted directory as ZAP domain: ps_socket_attach turns it
//  into a CURVE server if it binds.
void ps_curve_keys_apply (ps_curve_keys_t *self, zsock_t *sock);

#endif
