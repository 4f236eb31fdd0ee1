/*  ps_envelope: the fixed 16-byte header frame of backend messages.

    Byte order is explicit (big-endian), so peers in other languages and on
    other machines read the same numbers. See docs/PROTOCOL.md.
*/
#include "prime_server/ps_envelope.h"
#include "ps_envelope_private.h"

static void
s_put_u16 (byte *out, uint16_t value)
{
    out[0] = (byte) (value >> 8);
    out[1] = (byte) value;
}

void
ps_envelope_pack (const ps_envelope_t *envelope, byte out[PS_ENVELOPE_SIZE])
{
    assert (envelope);
    assert (out);
    out[0] = PS_PROTOCOL_VERSION;
    out[1] = envelope->type;
    out[2] = envelope->flags;
    out[3] = envelope->kind;
    s_put_u16 (out + 4, envelope->status);
    s_put_u16 (out + 6, envelope->credit);
    ps_put_u64 (out + 8, envelope->id);
}

zframe_t *
ps_envelope_encode (const ps_envelope_t *envelope)
{
    byte data[PS_ENVELOPE_SIZE];
    ps_envelope_pack (envelope, data);
    return zframe_new (data, sizeof data);
}

int
ps_envelope_unpack (const void *bytes, size_t size, ps_envelope_t *envelope)
{
    assert (envelope);
    if (!bytes || size != PS_ENVELOPE_SIZE)
        return -1;
    const byte *data = (const byte *) bytes;
    if (data[0] != PS_PROTOCOL_VERSION)
        return -1;
    if (data[1] < PS_MSG_JOB || data[1] > PS_MSG_RETURN)
        return -1;
    envelope->type = data[1];
    envelope->flags = data[2];
    envelope->kind = data[3];
    envelope->status = (uint16_t) ((data[4] << 8) | data[5]);
    envelope->credit = (uint16_t) ((data[6] << 8) | data[7]);
    envelope->id = ps_get_u64 (data + 8);
    return 0;
}

int
ps_envelope_decode (zframe_t *frame, ps_envelope_t *envelope)
{
    assert (envelope);
    if (!frame)
        return -1;
    return ps_envelope_unpack (zframe_data (frame), zframe_size (frame), envelope);
}

int
ps_envelope_version (zframe_t *frame)
{
    if (!frame || zframe_size (frame) != PS_ENVELOPE_SIZE)
        return -1;
    return zframe_data (frame)[0];
}

int
ps_envelope_send (const ps_envelope_t *envelope, zmsg_t **payload_p, void *sock)
{
    assert (envelope);
    assert (sock);
    zmsg_t *msg = (payload_p && *payload_p) ? *payload_p : zmsg_new ();
    if (payload_p)
        *payload_p = NULL;
    zframe_t *head = ps_envelope_encode (envelope);
    zmsg_prepend (msg, &head);
    int rc = zmsg_send (&msg, sock);
    if (rc != 0)
        zmsg_destroy (&msg);
    return rc;
}

void
ps_envelope_log_junk (const char *component, const char *socket, zframe_t *envelope_frame,
                      size_t frames, bool verbose, bool *version_warned)
{
    int version = ps_envelope_version (envelope_frame);
    if (version >= 0 && version != PS_PROTOCOL_VERSION) {
        if (!*version_warned || verbose)
            zsys_warning ("%s: dropped a message of protocol version %d on %s (we speak %d): "
                          "a peer of another release%s",
                          component, version, socket, PS_PROTOCOL_VERSION,
                          verbose ? "" : "; said once");
        *version_warned = true;
    }
    else if (verbose)
        zsys_warning ("%s: dropped junk on %s (%zu frames)", component, socket, frames);
}
