/*  ps_metrics: counters, the duration histogram and the stages' reports,
    rendered in the Prometheus text format (see ps_metrics.h).

    Counting is on the hot path (once per answer), rendering is not (once
    per scrape): counts live in fixed arrays indexed by method and status,
    so an answer costs a few increments and no allocation; a scrape walks
    them and writes only the combinations seen. Methods outside the
    standard ones share the label "other", which bounds the label set
    whatever clients send.

    Process figures are read from /proc at scrape time (Linux); where it is
    missing they are left out.
*/
#include "ps_metrics.h"
#include "ps_envelope_private.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *s_methods[] = {"GET",     "HEAD",  "POST",  "PUT",     "DELETE",
                                  "OPTIONS", "PATCH", "TRACE", "CONNECT", "other"};
#define S_METHODS    (sizeof s_methods / sizeof s_methods[0])
#define S_STATUS_MIN 100
#define S_STATUSES   500  //  100..599

//  Upper bounds of the duration buckets, in microseconds: 0.5 ms to 30 s.
static const int64_t s_bounds_us[] = {500,     1000,    2500,    5000,     10000,
                                      25000,   50000,   100000,  250000,   500000,
                                      1000000, 2500000, 5000000, 10000000, 30000000};
#define S_BUCKETS (sizeof s_bounds_us / sizeof s_bounds_us[0])

static const char *s_reasons[PS_METRICS_REJECT_COUNT] = {
    "overload",     "too_many_connections", "header_timeout",  "body_too_large",
    "uri_too_long", "headers_too_large",    "request_timeout", "client_gone"};

typedef struct {
    char *name;
    ps_metrics_stage_t figures;
    int64_t seen;  //  zclock_mono of the last report
} s_stage_t;

struct _ps_metrics_t {
    uint64_t requests[S_METHODS][S_STATUSES];
    uint64_t buckets[S_BUCKETS + 1];  //  per bucket, not cumulative; last: above 30 s
    uint64_t count;
    int64_t sum_us;
    uint64_t rejected[PS_METRICS_REJECT_COUNT];
    zlistx_t *stages;  //  s_stage_t, in the order first seen
};

//  ---------------------------------------------------------------------
//  The STATS figures frame

void
ps_metrics_stage_encode (const ps_metrics_stage_t *stage, byte out[PS_METRICS_STAGE_SIZE])
{
    assert (stage);
    out[0] = PS_METRICS_STAGE_VERSION;
    ps_put_u64 (out + 1, stage->workers);
    ps_put_u64 (out + 9, stage->idle);
    ps_put_u64 (out + 17, stage->queued);
    ps_put_u64 (out + 25, stage->jobs);
    ps_put_u64 (out + 33, stage->lost);
    for (int i = 0; i < 4; i++)
        out[41 + i] = (byte) (stage->interval_ms >> (8 * (3 - i)));
}

int
ps_metrics_stage_decode (const byte *data, size_t size, ps_metrics_stage_t *stage)
{
    assert (stage);
    if (!data || size < PS_METRICS_STAGE_SIZE || data[0] != PS_METRICS_STAGE_VERSION)
        return -1;
    stage->workers = ps_get_u64 (data + 1);
    stage->idle = ps_get_u64 (data + 9);
    stage->queued = ps_get_u64 (data + 17);
    stage->jobs = ps_get_u64 (data + 25);
    stage->lost = ps_get_u64 (data + 33);
    stage->interval_ms = 0;
    for (int i = 0; i < 4; i++)
        stage->interval_ms = (stage->interval_ms << 8) | data[41 + i];
    if (stage->idle > stage->workers || stage->interval_ms == 0)
        return -1;
    return 0;
}

//  ---------------------------------------------------------------------
//  Counting

static void
s_stage_destroy (void **item_p)
{
    s_stage_t *stage = (s_stage_t *) *item_p;
    if (stage) {
        free (stage->name);
        free (stage);
        *item_p = NULL;
    }
}

ps_metrics_t *
ps_metrics_new (void)
{
    ps_metrics_t *self = (ps_metrics_t *) zmalloc (sizeof (ps_metrics_t));
    assert (self);
    self->stages = zlistx_new ();
    assert (self->stages);
    zlistx_set_destructor (self->stages, s_stage_destroy);
    return self;
}

void
ps_metrics_destroy (ps_metrics_t **self_p)
{
    assert (self_p);
    ps_metrics_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->stages);
    free (self);
    *self_p = NULL;
}

int
ps_metrics_method (const char *method)
{
    if (method)
        for (size_t i = 0; i < S_METHODS - 1; i++)
            if (streq (method, s_methods[i]))
                return (int) i;
    return (int) S_METHODS - 1;
}

void
ps_metrics_request (ps_metrics_t *self, int method, int status, int64_t duration_us)
{
    assert (self);
    if (method < 0 || method >= (int) S_METHODS)
        method = (int) S_METHODS - 1;
    if (status >= S_STATUS_MIN && status < S_STATUS_MIN + S_STATUSES)
        self->requests[method][status - S_STATUS_MIN]++;
    if (duration_us < 0)
        duration_us = 0;
    size_t bucket = 0;
    while (bucket < S_BUCKETS && duration_us > s_bounds_us[bucket])
        bucket++;
    self->buckets[bucket]++;
    self->count++;
    self->sum_us += duration_us;
}

void
ps_metrics_reject (ps_metrics_t *self, ps_metrics_reject_t reason)
{
    assert (self);
    assert (reason < PS_METRICS_REJECT_COUNT);
    self->rejected[reason]++;
}

int
ps_metrics_stage_report (ps_metrics_t *self, const char *name, size_t name_size,
                         const ps_metrics_stage_t *stage, int64_t now)
{
    assert (self);
    assert (stage);
    if (!name || name_size == 0 || name_size > PS_METRICS_STAGE_NAME_MAX
        || memchr (name, 0, name_size))
        return -1;
    s_stage_t *found = NULL;
    for (s_stage_t *item = (s_stage_t *) zlistx_first (self->stages); item;
         item = (s_stage_t *) zlistx_next (self->stages))
        if (strlen (item->name) == name_size && memcmp (item->name, name, name_size) == 0) {
            found = item;
            break;
        }
    if (!found) {
        found = (s_stage_t *) zmalloc (sizeof (s_stage_t));
        assert (found);
        found->name = strndup (name, name_size);
        assert (found->name);
        zlistx_add_end (self->stages, found);
    }
    found->figures = *stage;
    found->seen = now;
    return 0;
}

//  ---------------------------------------------------------------------
//  Rendering

static void
s_printf (zchunk_t *out, const char *format, ...)
{
    char line[512];
    va_list args;
    va_start (args, format);
    int size = vsnprintf (line, sizeof line, format, args);
    va_end (args);
    assert (size >= 0 && (size_t) size < sizeof line);
    zchunk_extend (out, line, (size_t) size);
}

static void
s_family (zchunk_t *out, const char *name, const char *type, const char *help)
{
    s_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  A label value: backslash, double quote and newline escaped.
static void
s_label_value (char *out, size_t size, const char *value)
{
    size_t used = 0;
    for (const char *p = value; *p && used + 3 < size; p++) {
        if (*p == '\\' || *p == '"') {
            out[used++] = '\\';
            out[used++] = *p;
        }
        else if (*p == '\n') {
            out[used++] = '\\';
            out[used++] = 'n';
        }
        else
            out[used++] = *p;
    }
    out[used] = 0;
}

//  Seconds with no exponent and no trailing zeros, as Prometheus writes
//  bucket bounds.
static void
s_seconds (char *out, size_t size, int64_t us)
{
    snprintf (out, size, "%.6f", (double) us / 1e6);
    char *end = out + strlen (out) - 1;
    while (*end == '0')
        *end-- = 0;
    if (*end == '.')
        *end = 0;
}

static void
s_render_requests (ps_metrics_t *self, zchunk_t *out)
{
    s_family (out, "prime_server_requests_total", "counter",
              "HTTP requests answered, by status code and method (499: the client left first).");
    for (size_t m = 0; m < S_METHODS; m++)
        for (size_t s = 0; s < S_STATUSES; s++)
            if (self->requests[m][s])
                s_printf (out,
                          "prime_server_requests_total{code=\"%zu\",method=\"%s\"} %" PRIu64 "\n",
                          s + S_STATUS_MIN, s_methods[m], self->requests[m][s]);

    s_family (out, "prime_server_request_duration_seconds", "histogram",
              "Time from a request's arrival to its answer being written.");
    uint64_t cumulative = 0;
    char bound[32];
    for (size_t b = 0; b < S_BUCKETS; b++) {
        cumulative += self->buckets[b];
        s_seconds (bound, sizeof bound, s_bounds_us[b]);
        s_printf (out, "prime_server_request_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
                  bound, cumulative);
    }
    s_printf (out, "prime_server_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
              self->count);
    s_printf (out, "prime_server_request_duration_seconds_sum %.6f\n", (double) self->sum_us / 1e6);
    s_printf (out, "prime_server_request_duration_seconds_count %" PRIu64 "\n", self->count);

    s_family (out, "prime_server_rejected_total", "counter",
              "Requests and connections refused or cut short by the server, by reason.");
    for (size_t r = 0; r < PS_METRICS_REJECT_COUNT; r++)
        s_printf (out, "prime_server_rejected_total{reason=\"%s\"} %" PRIu64 "\n", s_reasons[r],
                  self->rejected[r]);
}

static void
s_render_stages (ps_metrics_t *self, zchunk_t *out, int64_t now)
{
    if (zlistx_size (self->stages) == 0)
        return;
    //  Up: a report came within PS_METRICS_STAGE_MISSED of its intervals.
    //  The other families show only the stages that are up.
    char label[PS_METRICS_STAGE_NAME_MAX * 2 + 1];
    s_family (out, "prime_server_stage_up", "gauge",
              "1 while the stage's proxy reports its figures, 0 once its reports stop.");
    for (s_stage_t *stage = (s_stage_t *) zlistx_first (self->stages); stage;
         stage = (s_stage_t *) zlistx_next (self->stages)) {
        s_label_value (label, sizeof label, stage->name);
        bool up = now - stage->seen
                  <= (int64_t) stage->figures.interval_ms * PS_METRICS_STAGE_MISSED;
        s_printf (out, "prime_server_stage_up{stage=\"%s\"} %d\n", label, up ? 1 : 0);
    }
    static const struct {
        const char *name, *type, *help;
    } families[] = {
        {"prime_server_stage_workers", "gauge", "Workers known to the stage's proxy, by state."},
        {"prime_server_stage_queued_jobs", "gauge",
         "Jobs in the stage's proxy and workers waiting for a worker to start them."},
        {"prime_server_stage_jobs_total", "counter", "Jobs the stage's proxy handed to workers."},
        {"prime_server_stage_jobs_lost_total", "counter",
         "Jobs the stage's proxy reported lost with their worker."}};
    for (size_t f = 0; f < 4; f++) {
        s_family (out, families[f].name, families[f].type, families[f].help);
        for (s_stage_t *stage = (s_stage_t *) zlistx_first (self->stages); stage;
             stage = (s_stage_t *) zlistx_next (self->stages)) {
            const ps_metrics_stage_t *figures = &stage->figures;
            if (now - stage->seen > (int64_t) figures->interval_ms * PS_METRICS_STAGE_MISSED)
                continue;
            s_label_value (label, sizeof label, stage->name);
            if (f == 0) {
                s_printf (out, "%s{stage=\"%s\",state=\"idle\"} %" PRIu64 "\n", families[f].name,
                          label, figures->idle);
                s_printf (out, "%s{stage=\"%s\",state=\"busy\"} %" PRIu64 "\n", families[f].name,
                          label, figures->workers - figures->idle);
            }
            else
                s_printf (out, "%s{stage=\"%s\"} %" PRIu64 "\n", families[f].name, label,
                          f == 1   ? figures->queued
                          : f == 2 ? figures->jobs
                                   : figures->lost);
        }
    }
}

//  The standard process figures, from /proc/self (Linux).
static void
s_render_process (zchunk_t *out)
{
    FILE *file = fopen ("/proc/self/stat", "r");
    if (!file)
        return;
    char text[1024];
    size_t size = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    text[size] = 0;
    //  The command name may hold spaces and parentheses: fields count from
    //  the last ')'. After it come field 3 (state) onwards.
    char *p = strrchr (text, ')');
    if (!p)
        return;
    unsigned long utime = 0, stime = 0;
    unsigned long long starttime = 0;
    long rss = 0;
    int fields = sscanf (p + 2,
                         "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
                         "%*d %*d %llu %*u %ld",
                         &utime, &stime, &starttime, &rss);
    if (fields != 4)
        return;
    double ticks = (double) sysconf (_SC_CLK_TCK);
    long page = sysconf (_SC_PAGESIZE);
    unsigned long long boot = 0;
    file = fopen ("/proc/stat", "r");
    if (file) {
        char line[256];
        while (fgets (line, sizeof line, file))
            if (sscanf (line, "btime %llu", &boot) == 1)
                break;
        fclose (file);
    }
    size_t fds = 0;
    DIR *dir = opendir ("/proc/self/fd");
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir)))
            if (entry->d_name[0] != '.')
                fds++;
        closedir (dir);
        fds--;  //  the directory's own
    }
    s_family (out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    s_printf (out, "process_cpu_seconds_total %.2f\n", (double) (utime + stime) / ticks);
    s_family (out, "process_resident_memory_bytes", "gauge", "Resident memory size.");
    s_printf (out, "process_resident_memory_bytes %ld\n", rss * page);
    if (dir) {
        s_family (out, "process_open_fds", "gauge", "Open file descriptors.");
        s_printf (out, "process_open_fds %zu\n", fds);
    }
    if (boot) {
        s_family (out, "process_start_time_seconds", "gauge",
                  "Start time of the process since the Unix epoch.");
        s_printf (out, "process_start_time_seconds %.2f\n",
                  (double) boot + (double) starttime / ticks);
    }
}

zchunk_t *
ps_metrics_render (ps_metrics_t *self, const ps_metrics_gauges_t *gauges, int64_t now)
{
    assert (self);
    assert (gauges);
    zchunk_t *out = zchunk_new (NULL, 8192);
    assert (out);
    s_render_requests (self, out);
    s_family (out, "prime_server_requests_in_flight", "gauge",
              "Requests received and not yet answered.");
    s_printf (out, "prime_server_requests_in_flight %zu\n", gauges->in_flight);
    s_family (out, "prime_server_connections", "gauge", "Client connections open.");
    s_printf (out, "prime_server_connections %zu\n", gauges->connections);
    s_render_stages (self, out, now);
    s_render_process (out);
    return out;
}
