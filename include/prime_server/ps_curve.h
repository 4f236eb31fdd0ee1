/*  ps_curve: CurveZMQ on the backend links (server, proxy, worker sockets).

    Every component config ends with a ps_curve_t; zeroed, the component
    speaks plaintext as before. With a certificate, every socket it makes
    over tcp:// or ipc:// runs CURVE (inproc:// carries no handshake and
    needs none):
    - a bound socket is a CURVE server with the component's key pair and
      admits only the public keys found in the trusted directory;
    - a connected socket is a CURVE client with the same key pair and the
      binder's public key (server).
    A peer whose key is not trusted completes no handshake: it sends and
    receives nothing. The refusal is logged once per peer address and key.
    Certificates are czmq's (zcert) files: "NAME" holds the public key,
    "NAME_secret" the key pair; prime_keygen writes them.

    The trusted directory (its files, not its subdirectories) is read
    again at the next handshake whenever a file in it is added, removed or
    rewritten: a key added admits its owner's next connection, a key removed
    refuses the next one, without a restart (tests/check_ps_curve.c
    measures it). A connection made before a removal stays up until it
    closes; restart the binder to cut it. Two files with the same key are
    one trusted key (the second is skipped with a warning).
*/
#ifndef PS_CURVE_H_INCLUDED
#define PS_CURVE_H_INCLUDED

#include "ps_export.h"

#ifdef __cplusplus
extern "C" {
#endif

//  A zeroed struct is plaintext. Paths are read when the component starts.
typedef struct {
    const char *cert;     //  this component's certificate (public file; the key pair in
                          //  cert"_secret", mode 0600 or stricter); NULL: CURVE off
    const char *trusted;  //  directory of the public certificates whose owners a bound
                          //  socket admits (files named *_secret are skipped); required
                          //  for a component that binds tcp:// or ipc://
    const char *server;   //  public certificate of the binders this component connects to;
                          //  NULL: cert (the binders share this component's key pair)
} ps_curve_t;

//  Whether curve is usable: the certificate loads, its secret file is
//  readable by the owner only, the server certificate loads, the trusted
//  directory (if given) is a directory. Returns 0, or -1 with the reason
//  logged through zsys_error. A zeroed curve is 0 (plaintext).
PS_EXPORT int ps_curve_check (const ps_curve_t *curve);

#ifdef __cplusplus
}
#endif

#endif
