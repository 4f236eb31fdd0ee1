/*  ps_zap: the process's ZAP handler (RFC 27), which tells libzmq whether a
    CURVE client may complete its handshake with one of our bound sockets.
    Private.

    libzmq asks the one handler bound at inproc://zeromq.zap.01 of its
    context; with none there, a CURVE server admits any key. So every bound
    CURVE socket holds a reference (ps_zap_acquire before its bind,
    ps_zap_release after its close): the first starts the handler, the last
    stops it, and components of one process share it.

    A socket's ZAP domain is the path of its trusted directory; the handler
    admits a key if a certificate with that public key is in the directory
    (ps_trusted, which reads the directory again when its files change).
    A refusal is logged once per peer address and key.
*/
#ifndef PS_ZAP_H_INCLUDED
#define PS_ZAP_H_INCLUDED

//  Start the handler if this is the first reference. Thread-safe. Returns
//  0, or -1 (logged) if the ZAP endpoint is taken by another handler.
int ps_zap_acquire (void);

//  Drop a reference; the last stops the handler. Thread-safe.
void ps_zap_release (void);

#endif
