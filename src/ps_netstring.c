/*  ps_netstring: encode and decode "<len>:<bytes>," netstrings.

    The one-shot parser (ps_netstring_parse) and the incremental decoder share
    one rule for every byte of the length: a digit may only be added if the
    value stays within max_size, so the length is bounded while it is read and
    a hostile peer can never make us accept, or even accumulate, a number
    larger than the limit. Both look at the bytes in the same order and decide
    an error at the same byte, which is what makes the decoder's result
    independent of how the stream was split.

    The decoder keeps at most one partial netstring: the digits read so far,
    then a frame of exactly the announced size that the payload is copied
    into, then the wait for the trailing comma. A large announced length is
    not allocated up front: its buffer grows with the bytes that really come,
    so memory follows what the peer sent, not what it claimed.
*/
#include "prime_server/prime_server.h"

#include <string.h>

//  Static reasons, shared by the parser and the decoder
static const char *s_err_digit = "netstring length does not start with a digit";
static const char *s_err_zero = "netstring length has a leading zero";
static const char *s_err_limit = "netstring length over the limit";
static const char *s_err_colon = "netstring length not followed by ':'";
static const char *s_err_comma = "netstring payload not followed by ','";

//  Payloads up to this size get their frame at once
#define S_SMALL_PAYLOAD (256 * 1024)

//  Add one decimal digit to a length, keeping it within max_size.
//  Returns the reason on failure, NULL if fine.
static inline const char *
s_length_digit (size_t *length, size_t ndigits, char ch, size_t max_size)
{
    size_t digit = (size_t) (ch - '0');
    if (ndigits == 1 && *length == 0)
        return s_err_zero;  //  "0" may only be followed by ':'
    if (digit > max_size || *length > (max_size - digit) / 10)
        return s_err_limit;
    *length = *length * 10 + digit;
    return NULL;
}

static inline bool
s_is_digit (char ch)
{
    return ch >= '0' && ch <= '9';
}

size_t
ps_netstring_encoded_size (size_t size)
{
    size_t digits = 1;
    for (size_t rest = size / 10; rest; rest /= 10)
        digits++;
    return digits + 1 + size + 1;
}

size_t
ps_netstring_write (char *dest, const void *data, size_t size)
{
    assert (dest);
    char digits[24];
    size_t ndigits = 0;
    size_t rest = size;
    do {
        digits[ndigits++] = (char) ('0' + rest % 10);
        rest /= 10;
    } while (rest);
    char *p = dest;
    while (ndigits)
        *p++ = digits[--ndigits];
    *p++ = ':';
    if (data && size)
        memcpy (p, data, size);
    p += size;
    *p++ = ',';
    return (size_t) (p - dest);
}

zchunk_t *
ps_netstring_encode (const void *data, size_t size)
{
    size_t total = ps_netstring_encoded_size (size);
    zchunk_t *chunk = zchunk_new (NULL, total);
    assert (chunk);
    size_t written = ps_netstring_write ((char *) zchunk_data (chunk), data, size);
    assert (written == total);
    //  zchunk_set with NULL data only sets the size
    zchunk_set (chunk, NULL, total);
    return chunk;
}

ssize_t
ps_netstring_parse (const char *buf, size_t size, size_t max_size, const char **payload,
                    size_t *payload_size, const char **error)
{
    assert (buf || size == 0);
    assert (payload);
    assert (payload_size);
    const char *reason = NULL;
    size_t length = 0;
    size_t pos = 0;

    //  Length: digits, each one checked against the limit as it comes
    while (pos < size && s_is_digit (buf[pos])) {
        reason = s_length_digit (&length, pos, buf[pos], max_size);
        if (reason)
            goto failed;
        pos++;
    }
    if (pos == size)
        return -2;
    if (pos == 0) {
        reason = s_err_digit;
        goto failed;
    }
    if (buf[pos] != ':') {
        reason = s_err_colon;
        goto failed;
    }
    pos++;
    //  Payload and comma; written so that nothing can overflow
    if (size - pos <= length)
        return -2;
    if (buf[pos + length] != ',') {
        reason = s_err_comma;
        goto failed;
    }
    *payload = buf + pos;
    *payload_size = length;
    return (ssize_t) (pos + length + 1);

failed:
    if (error)
        *error = reason;
    return -1;
}

//  ---------------------------------------------------------------------
//  Incremental decoder

typedef enum { S_LENGTH, S_PAYLOAD, S_COMMA, S_FAILED } s_state_t;

struct _ps_netstring_decoder_t {
    size_t max_size;
    s_state_t state;
    size_t length;    //  announced payload length
    size_t ndigits;   //  digits of it read so far
    zframe_t *frame;  //  payload being filled (S_PAYLOAD, S_COMMA), if small
    char *big;        //  or a buffer that grows as a large payload arrives
    size_t big_cap;
    size_t filled;      //  bytes of the payload received
    const char *error;  //  static reason once failed
    //  Completed payloads: a ring of frames, grown by doubling
    zframe_t **ring;
    size_t ring_size;
    size_t ring_head;
    size_t ring_count;
};

ps_netstring_decoder_t *
ps_netstring_decoder_new (size_t max_size)
{
    ps_netstring_decoder_t *self = (ps_netstring_decoder_t *) zmalloc (sizeof *self);
    assert (self);
    self->max_size = max_size;
    self->state = S_LENGTH;
    self->ring_size = 8;
    self->ring = (zframe_t **) zmalloc (self->ring_size * sizeof (zframe_t *));
    assert (self->ring);
    return self;
}

void
ps_netstring_decoder_destroy (ps_netstring_decoder_t **self_p)
{
    assert (self_p);
    ps_netstring_decoder_t *self = *self_p;
    if (!self)
        return;
    zframe_destroy (&self->frame);
    free (self->big);
    while (self->ring_count) {
        zframe_destroy (&self->ring[self->ring_head]);
        self->ring_head = (self->ring_head + 1) % self->ring_size;
        self->ring_count--;
    }
    free (self->ring);
    free (self);
    *self_p = NULL;
}

static void
s_push (ps_netstring_decoder_t *self, zframe_t *frame)
{
    if (self->ring_count == self->ring_size) {
        size_t new_size = self->ring_size * 2;
        zframe_t **ring = (zframe_t **) zmalloc (new_size * sizeof (zframe_t *));
        assert (ring);
        for (size_t i = 0; i < self->ring_count; i++)
            ring[i] = self->ring[(self->ring_head + i) % self->ring_size];
        free (self->ring);
        self->ring = ring;
        self->ring_size = new_size;
        self->ring_head = 0;
    }
    self->ring[(self->ring_head + self->ring_count) % self->ring_size] = frame;
    self->ring_count++;
}

static int
s_fail (ps_netstring_decoder_t *self, const char *reason)
{
    self->state = S_FAILED;
    self->error = reason;
    zframe_destroy (&self->frame);
    free (self->big);
    self->big = NULL;
    return -1;
}

int
ps_netstring_decoder_feed (ps_netstring_decoder_t *self, const char *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    const char *p = data;
    const char *end = data + size;

    while (p < end) {
        switch (self->state) {
        case S_LENGTH: {
            char ch = *p;
            if (s_is_digit (ch)) {
                const char *reason = s_length_digit (&self->length, self->ndigits, ch,
                                                     self->max_size);
                if (reason)
                    return s_fail (self, reason);
                self->ndigits++;
                p++;
                break;
            }
            if (self->ndigits == 0)
                return s_fail (self, s_err_digit);
            if (ch != ':')
                return s_fail (self, s_err_colon);
            p++;
            if (self->length <= S_SMALL_PAYLOAD) {
                self->frame = zframe_new (NULL, self->length);
                assert (self->frame);
            }
            self->filled = 0;
            self->state = self->length ? S_PAYLOAD : S_COMMA;
            break;
        }
        case S_PAYLOAD: {
            size_t want = self->length - self->filled;
            size_t have = (size_t) (end - p);
            size_t take = want < have ? want : have;
            char *dest;
            if (self->frame)
                dest = (char *) zframe_data (self->frame);
            else {
                if (self->filled + take > self->big_cap) {
                    size_t cap = self->big_cap ? self->big_cap : S_SMALL_PAYLOAD;
                    while (cap < self->filled + take)
                        cap *= 2;
                    if (cap > self->length)
                        cap = self->length;
                    self->big = (char *) realloc (self->big, cap);
                    assert (self->big);
                    self->big_cap = cap;
                }
                dest = self->big;
            }
            memcpy (dest + self->filled, p, take);
            self->filled += take;
            p += take;
            if (self->filled == self->length)
                self->state = S_COMMA;
            break;
        }
        case S_COMMA:
            if (*p != ',')
                return s_fail (self, s_err_comma);
            p++;
            if (!self->frame) {
                self->frame = zframe_new (self->big, self->length);
                assert (self->frame);
                free (self->big);
                self->big = NULL;
                self->big_cap = 0;
            }
            s_push (self, self->frame);
            self->frame = NULL;
            self->length = 0;
            self->ndigits = 0;
            self->state = S_LENGTH;
            break;
        case S_FAILED:
            return -1;
        }
    }
    return self->state == S_FAILED ? -1 : 0;
}

zframe_t *
ps_netstring_decoder_next (ps_netstring_decoder_t *self)
{
    assert (self);
    if (self->ring_count == 0)
        return NULL;
    zframe_t *frame = self->ring[self->ring_head];
    self->ring[self->ring_head] = NULL;
    self->ring_head = (self->ring_head + 1) % self->ring_size;
    self->ring_count--;
    return frame;
}

const char *
ps_netstring_decoder_error (ps_netstring_decoder_t *self)
{
    assert (self);
    return self->error;
}

bool
ps_netstring_decoder_partial (ps_netstring_decoder_t *self)
{
    assert (self);
    return self->state == S_PAYLOAD || self->state == S_COMMA
           || (self->state == S_LENGTH && self->ndigits > 0);
}
