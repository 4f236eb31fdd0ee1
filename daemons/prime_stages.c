/*  prime_stages: stage 1 (parse and validate) and stage 2 (trial division)
    of the prime service, as ps_worker work functions.

    Stage 1 never does arithmetic and stage 2 never sees HTTP: between them
    travels one frame of 8 bytes, N in network byte order, which stage 2
    length-checks like any frame from another process. Every answer is JSON,
    and the error texts say what a valid request looks like, because the
    first user of this service is someone typing a curl command.
*/
#include "prime_stages.h"

#include <inttypes.h>
#include <string.h>

#define S_VALID                                                                                    \
    "expected GET /is_prime?possible_prime=N or POST /is_prime with body N, "                      \
    "N a decimal integer from 0 to 18446744073709551615"

#define S_FACTOR_VALID                                                                             \
    "expected GET /factor?n=N or POST /factor with body N, "                                       \
    "N a decimal integer from 0 to 18446744073709551615"

const char *
prime_factor_error_missing (void)
{
    return "{\"error\":\"n is missing; " S_FACTOR_VALID "\"}";
}

const char *
prime_factor_error_repeated (void)
{
    return "{\"error\":\"n is given more than once; " S_FACTOR_VALID "\"}";
}

const char *
prime_factor_error_number (prime_number_status_t status)
{
    switch (status) {
    case PRIME_NUMBER_EMPTY:
        return "{\"error\":\"n is empty; " S_FACTOR_VALID "\"}";
    case PRIME_NUMBER_NEGATIVE:
        return "{\"error\":\"n is negative; " S_FACTOR_VALID "\"}";
    case PRIME_NUMBER_TOO_LARGE:
        return "{\"error\":\"n is too large; " S_FACTOR_VALID "\"}";
    case PRIME_NUMBER_NOT_DECIMAL:
    default:
        return "{\"error\":\"n is not a decimal integer; " S_FACTOR_VALID "\"}";
    }
}

const char *
prime_error_missing (void)
{
    return "{\"error\":\"possible_prime is missing; " S_VALID "\"}";
}

const char *
prime_error_repeated (void)
{
    return "{\"error\":\"possible_prime is given more than once; " S_VALID "\"}";
}

const char *
prime_error_not_found (void)
{
    return "{\"error\":\"not found; " S_VALID "\"}";
}

const char *
prime_error_method (void)
{
    return "{\"error\":\"method not allowed; " S_VALID "\"}";
}

const char *
prime_error_number (prime_number_status_t status)
{
    switch (status) {
    case PRIME_NUMBER_EMPTY:
        return "{\"error\":\"possible_prime is empty; " S_VALID "\"}";
    case PRIME_NUMBER_NEGATIVE:
        return "{\"error\":\"possible_prime is negative; " S_VALID "\"}";
    case PRIME_NUMBER_TOO_LARGE:
        return "{\"error\":\"possible_prime is too large; " S_VALID "\"}";
    case PRIME_NUMBER_NOT_DECIMAL:
    default:
        return "{\"error\":\"possible_prime is not a decimal integer; " S_VALID "\"}";
    }
}

static bool
s_all_digits (const char *text, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

prime_number_status_t
prime_parse_number (const char *text, size_t size, uint64_t *number)
{
    assert (number);
    assert (text || size == 0);
    if (size == 0)
        return PRIME_NUMBER_EMPTY;
    //  "-5" is worth its own message; "-x" or "-" is just not a number
    if (text[0] == '-' && size > 1 && s_all_digits (text + 1, size - 1))
        return PRIME_NUMBER_NEGATIVE;
    if (!s_all_digits (text, size))
        return PRIME_NUMBER_NOT_DECIMAL;
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++) {
        uint64_t digit = (uint64_t) (text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return PRIME_NUMBER_TOO_LARGE;
        value = value * 10 + digit;
    }
    *number = value;
    return PRIME_NUMBER_OK;
}

size_t
prime_format_number (uint64_t number, char *dest)
{
    assert (dest);
    char digits[20];
    size_t count = 0;
    do {
        digits[count++] = (char) ('0' + number % 10);
        number /= 10;
    } while (number);
    for (size_t i = 0; i < count; i++)
        dest[i] = digits[count - 1 - i];
    return count;
}

//  floor (sqrt (n)) by the digit-by-digit method: exact for all 64-bit n,
//  and no floating point rounding to second-guess near 2^64.
static uint64_t
s_isqrt (uint64_t n)
{
    uint64_t root = 0;
    uint64_t bit = (uint64_t) 1 << 62;
    while (bit > n)
        bit >>= 2;
    while (bit) {
        if (n >= root + bit) {
            n -= root + bit;
            root = (root >> 1) + bit;
        }
        else
            root >>= 1;
        bit >>= 2;
    }
    return root;
}

int
prime_trial_division (uint64_t n, prime_cancelled_fn *cancelled, void *arg)
{
    if (n < 2)
        return 0;
    //  "d * d <= n" computed as "d <= isqrt (n)": the same divisors, and
    //  d * d cannot overflow near 2^64 because it is never computed.
    //  limit < 2^32, so d and stop stay far from overflow too.
    uint64_t limit = s_isqrt (n);
    uint64_t d = 2;
    while (d <= limit) {
        uint64_t stop = d + PRIME_CANCEL_CHECK - 1;
        if (stop > limit)
            stop = limit;
        for (; d <= stop; d++)
            if (n % d == 0)
                return 0;
        if (d <= limit && cancelled && cancelled (arg))
            return -1;
    }
    return 1;
}

int
prime_factorise (uint64_t n, uint64_t *factors, size_t *count, prime_cancelled_fn *cancelled,
                 void *arg)
{
    assert (factors);
    assert (count);
    *count = 0;
    if (n < 2)
        return 0;
    while ((n & 1) == 0) {
        factors[(*count)++] = 2;
        n >>= 1;
    }
    //  Odd divisors only, after 2: the even ones cannot divide what is
    //  left, and skipping them halves the longest jobs. The limit follows
    //  the cofactor down as factors come out, as isqrt does for primes.
    uint64_t limit = s_isqrt (n);
    uint64_t d = 3;
    uint64_t divisions = 0;
    while (d <= limit) {
        if (n % d == 0) {
            factors[(*count)++] = d;
            n /= d;
            limit = s_isqrt (n);
            continue;
        }
        d += 2;
        if (++divisions == PRIME_CANCEL_CHECK) {
            divisions = 0;
            if (cancelled && cancelled (arg))
                return -1;
        }
    }
    if (n > 1)
        factors[(*count)++] = n;
    return 0;
}

//  Answer with a JSON body (static or caller's text) and optional Allow.
static int
s_reply_json (ps_work_t *work, int status, const char *body, size_t body_size, bool allow)
{
    ps_pairs_t *headers = ps_pairs_new (true);
    ps_pairs_add (headers, "Content-Type", "application/json");
    if (allow)
        ps_pairs_add (headers, "Allow", PRIME_ALLOW);
    return ps_work_reply (work, status, &headers, body, body_size);
}

static int
s_reply_error (ps_work_t *work, int status, const char *body)
{
    return s_reply_json (work, status, body, strlen (body), status == 405);
}

//  A workflow's path, parameter and error texts.
typedef struct {
    const char *path;
    const char *param;
    const char *(*missing) (void);
    const char *(*repeated) (void);
    const char *(*number) (prime_number_status_t status);
    const char *edge;  //  its downstream's name in a graph
} s_workflow_t;

static const s_workflow_t s_prime_workflow = {PRIME_PATH,          PRIME_PARAM,
                                              prime_error_missing, prime_error_repeated,
                                              prime_error_number,  PRIME_EDGE_PRIME};
static const s_workflow_t s_factor_workflow = {
    PRIME_FACTOR_PATH,           PRIME_FACTOR_PARAM,        prime_factor_error_missing,
    prime_factor_error_repeated, prime_factor_error_number, PRIME_EDGE_FACTOR};

//  Find the number in the request; 0 and *text/*size set, or the 400 body.
static const char *
s_find_number (const ps_http_request_t *request, const s_workflow_t *workflow, const char **text,
               size_t *size)
{
    const char *method = ps_http_request_method (request);
    if (streq (method, "POST")) {
        //  The body is the number; one trailing newline is forgiven, since
        //  "echo 7 | curl --data-binary @-" is the obvious way to send one.
        *text = ps_http_request_body (request);
        *size = ps_http_request_body_size (request);
        if (*size > 0 && (*text)[*size - 1] == '\n')
            (*size)--;
        if (*size > 0 && (*text)[*size - 1] == '\r')
            (*size)--;
        return NULL;
    }
    const ps_pairs_t *query = ps_http_request_query (request);
    size_t count = ps_pairs_count (query, workflow->param);
    if (count == 0)
        return workflow->missing ();
    if (count > 1)
        return workflow->repeated ();
    *text = ps_pairs_get (query, workflow->param);
    *size = strlen (*text);
    return NULL;
}

//  Checks the request for workflow and forwards N: by name in a graph
//  (named), else to the only next stage.
static int
s_parse (ps_work_t *work, const ps_http_request_t *request, const s_workflow_t *workflow,
         bool named)
{
    const char *method = ps_http_request_method (request);
    if (strneq (method, "GET") && strneq (method, "HEAD") && strneq (method, "POST"))
        return s_reply_error (work, 405, prime_error_method ());

    const char *text = NULL;
    size_t size = 0;
    const char *error = s_find_number (request, workflow, &text, &size);
    if (error)
        return s_reply_error (work, 400, error);
    uint64_t number = 0;
    prime_number_status_t status = prime_parse_number (text, size, &number);
    if (status != PRIME_NUMBER_OK)
        return s_reply_error (work, 400, workflow->number (status));

    byte frame[8];
    for (int i = 0; i < 8; i++)
        frame[i] = (byte) (number >> (56 - 8 * i));
    zmsg_t *forward = zmsg_new ();
    zmsg_addmem (forward, frame, sizeof frame);
    return named ? ps_work_forward_to (work, workflow->edge, &forward)
                 : ps_work_forward (work, &forward);
}

int
prime_stage_parse (ps_work_t *work, void *arg)
{
    (void) arg;
    const ps_http_request_t *request = ps_work_request (work);
    if (!request)
        //  not HTTP, or a payload that did not decode: the worker answers 500
        return -1;
    if (strneq (ps_http_request_path (request), PRIME_PATH))
        return s_reply_error (work, 404, prime_error_not_found ());
    return s_parse (work, request, &s_prime_workflow, false);
}

int
prime_stage_parse_named (ps_work_t *work, void *arg)
{
    (void) arg;
    const ps_http_request_t *request = ps_work_request (work);
    if (!request)
        return -1;
    const char *path = ps_http_request_path (request);
    if (streq (path, PRIME_PATH))
        return s_parse (work, request, &s_prime_workflow, true);
    if (streq (path, PRIME_FACTOR_PATH))
        return s_parse (work, request, &s_factor_workflow, true);
    return s_reply_error (work, 404, prime_error_not_found ());
}

//  Asking the worker costs a couple of microseconds (it polls its sockets),
//  a tenth of a block of PRIME_CANCEL_CHECK divisions on a fast core; so
//  between two real questions at least S_CANCEL_INTERVAL_US pass. The
//  clock is cheap (vDSO) and a cancelled job still stops within a quarter
//  of a millisecond, whatever the speed of the core.
#define S_CANCEL_INTERVAL_US 250

typedef struct {
    ps_work_t *work;
    int64_t asked;  //  zclock_usecs of the last question
} s_cancel_t;

static bool
s_cancelled (void *arg)
{
    s_cancel_t *self = (s_cancel_t *) arg;
    int64_t now = zclock_usecs ();
    if (now - self->asked < S_CANCEL_INTERVAL_US)
        return false;
    self->asked = now;
    return ps_work_cancelled (self->work);
}

//  N from the job's one 8-byte frame; false (logged) for anything else.
static bool
s_job_number (ps_work_t *work, const char *stage, uint64_t *number)
{
    zmsg_t *payload = ps_work_payload (work);
    zframe_t *frame = payload ? zmsg_first (payload) : NULL;
    if (!frame || zmsg_size (payload) != 1 || zframe_size (frame) != 8) {
        zsys_warning ("%s: job %" PRIu64 " is not one 8-byte frame, dropped", stage,
                      ps_work_id (work));
        return false;
    }
    const byte *data = zframe_data (frame);
    *number = 0;
    for (int i = 0; i < 8; i++)
        *number = (*number << 8) | data[i];
    return true;
}

int
prime_stage_factor (ps_work_t *work, void *arg)
{
    (void) arg;
    uint64_t number;
    if (!s_job_number (work, "prime_stage_factor", &number))
        return -1;
    uint64_t factors[64];
    size_t count = 0;
    s_cancel_t cancel = {work, zclock_usecs ()};
    if (prime_factorise (number, factors, &count, s_cancelled, &cancel) < 0)
        return s_reply_json (work, 503, "{\"error\":\"cancelled\"}", 21, false);
    char body[32 + 21 * 65];
    char *p = body;
    memcpy (p, "{\"n\":", 5);
    p += 5;
    p += prime_format_number (number, p);
    memcpy (p, ",\"factors\":[", 12);
    p += 12;
    for (size_t i = 0; i < count; i++) {
        if (i)
            *p++ = ',';
        p += prime_format_number (factors[i], p);
    }
    memcpy (p, "]}", 2);
    p += 2;
    return s_reply_json (work, 200, body, (size_t) (p - body), false);
}

int
prime_stage_compute (ps_work_t *work, void *arg)
{
    (void) arg;
    uint64_t number;
    if (!s_job_number (work, "prime_stage_compute", &number))
        return -1;

    s_cancel_t cancel = {work, zclock_usecs ()};
    int prime = prime_trial_division (number, s_cancelled, &cancel);
    if (prime < 0)
        return s_reply_json (work, 503, "{\"error\":\"cancelled\"}", 21, false);

    //  Written by hand: every cheap request ends here, and snprintf costs
    //  more than the rest of the formatting
    static const char head[] = "{\"possible_prime\":";
    static const char yes[] = ",\"is_prime\":true}";
    static const char no[] = ",\"is_prime\":false}";
    char body[sizeof head + 20 + sizeof no];
    char *p = body;
    memcpy (p, head, sizeof head - 1);
    p += sizeof head - 1;
    p += prime_format_number (number, p);
    memcpy (p, prime ? yes : no, prime ? sizeof yes - 1 : sizeof no - 1);
    p += prime ? sizeof yes - 1 : sizeof no - 1;
    size_t size = (size_t) (p - body);
    return s_reply_json (work, 200, body, size, false);
}
