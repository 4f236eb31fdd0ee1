/*  check_ps_metrics: the registry and its exposition on their own: counts
    per method and status, the histogram's buckets, refusals, the STATS
    figures frame, and stages that are up, then stop reporting (shown as
    up 0 and nothing else). The exposition is read back line by line; the
    reference parser reads the whole server's in tests/test_metrics.sh.
*/
#include "../src/ps_metrics.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

//  The exposition as a string. Caller frees.
static char *
s_render (ps_metrics_t *metrics, size_t in_flight, size_t connections, int64_t now)
{
    ps_metrics_gauges_t gauges = {in_flight, connections};
    zchunk_t *chunk = ps_metrics_render (metrics, &gauges, now);
    char *text = (char *) malloc (zchunk_size (chunk) + 1);
    memcpy (text, zchunk_data (chunk), zchunk_size (chunk));
    text[zchunk_size (chunk)] = 0;
    zchunk_destroy (&chunk);
    return text;
}

//  The value of the sample line that starts with series + ' ', or -1.
static double
s_value (const char *text, const char *series)
{
    size_t length = strlen (series);
    for (const char *line = text; line && *line; line = strchr (line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp (line, series, length) == 0 && line[length] == ' ')
            return atof (line + length + 1);
    }
    return -1;
}

START_TEST (test_requests_and_histogram)
{
    ps_metrics_t *metrics = ps_metrics_new ();
    for (int i = 0; i < 3; i++)
        ps_metrics_request (metrics, ps_metrics_method ("GET"), 200, 400);  //  0.4 ms
    ps_metrics_request (metrics, ps_metrics_method ("POST"), 503, 2000);
    ps_metrics_request (metrics, ps_metrics_method ("BREW"), 200, 40 * 1000000);  //  > 30 s
    ps_metrics_request (metrics, -1, 408, 500);  //  exactly on a bound: in it
    char *text = s_render (metrics, 7, 3, 0);
    ck_assert_double_eq (s_value (text, "prime_server_requests_total{code=\"200\",method=\"GET\"}"),
                         3);
    ck_assert_double_eq (
        s_value (text, "prime_server_requests_total{code=\"503\",method=\"POST\"}"), 1);
    ck_assert_double_eq (
        s_value (text, "prime_server_requests_total{code=\"200\",method=\"other\"}"), 1);
    ck_assert_double_eq (
        s_value (text, "prime_server_requests_total{code=\"408\",method=\"other\"}"), 1);
    ck_assert_double_eq (
        s_value (text, "prime_server_requests_total{code=\"200\",method=\"POST\"}"),
        -1);  //  never seen: not shown
    ck_assert_double_eq (
        s_value (text, "prime_server_request_duration_seconds_bucket{le=\"0.0005\"}"), 4);
    ck_assert_double_eq (
        s_value (text, "prime_server_request_duration_seconds_bucket{le=\"0.001\"}"), 4);
    ck_assert_double_eq (
        s_value (text, "prime_server_request_duration_seconds_bucket{le=\"0.0025\"}"), 5);
    ck_assert_double_eq (s_value (text, "prime_server_request_duration_seconds_bucket{le=\"30\"}"),
                         5);
    ck_assert_double_eq (
        s_value (text, "prime_server_request_duration_seconds_bucket{le=\"+Inf\"}"), 6);
    ck_assert_double_eq (s_value (text, "prime_server_request_duration_seconds_count"), 6);
    ck_assert_double_eq_tol (s_value (text, "prime_server_request_duration_seconds_sum"), 40.0037,
                             1e-6);
    ck_assert_double_eq (s_value (text, "prime_server_requests_in_flight"), 7);
    ck_assert_double_eq (s_value (text, "prime_server_connections"), 3);
    ck_assert_ptr_nonnull (
        strstr (text, "# TYPE prime_server_request_duration_seconds histogram\n"));
    ck_assert_ptr_nonnull (strstr (text, "# TYPE prime_server_requests_total counter\n"));
    free (text);
    ps_metrics_destroy (&metrics);
    ps_metrics_destroy (&metrics);  //  accepts NULL
}
END_TEST

START_TEST (test_rejected)
{
    ps_metrics_t *metrics = ps_metrics_new ();
    ps_metrics_reject (metrics, PS_METRICS_OVERLOAD);
    ps_metrics_reject (metrics, PS_METRICS_OVERLOAD);
    ps_metrics_reject (metrics, PS_METRICS_CLIENT_GONE);
    char *text = s_render (metrics, 0, 0, 0);
    ck_assert_double_eq (s_value (text, "prime_server_rejected_total{reason=\"overload\"}"), 2);
    ck_assert_double_eq (s_value (text, "prime_server_rejected_total{reason=\"client_gone\"}"), 1);
    //  Every reason is shown, 0 included, so rates start at the first scrape
    const char *reasons[] = {"too_many_connections", "header_timeout",    "body_too_large",
                             "uri_too_long",         "headers_too_large", "request_timeout"};
    for (size_t i = 0; i < 6; i++) {
        char series[128];
        snprintf (series, sizeof series, "prime_server_rejected_total{reason=\"%s\"}", reasons[i]);
        ck_assert_double_eq (s_value (text, series), 0);
    }
    free (text);
    ps_metrics_destroy (&metrics);
}
END_TEST

START_TEST (test_stage_frame)
{
    ps_metrics_stage_t stage = {5, 2, 7, 1234567890123ULL, 9, 1000};
    byte frame[PS_METRICS_STAGE_SIZE];
    ps_metrics_stage_encode (&stage, frame);
    ck_assert_int_eq (frame[0], 1);
    ck_assert_int_eq (frame[8], 5);  //  big-endian
    ps_metrics_stage_t back;
    ck_assert_int_eq (ps_metrics_stage_decode (frame, sizeof frame, &back), 0);
    ck_assert_uint_eq (back.workers, 5);
    ck_assert_uint_eq (back.idle, 2);
    ck_assert_uint_eq (back.queued, 7);
    ck_assert_uint_eq (back.jobs, 1234567890123ULL);
    ck_assert_uint_eq (back.lost, 9);
    ck_assert_uint_eq (back.interval_ms, 1000);
    //  Longer (fields appended by a later release): read
    byte longer[PS_METRICS_STAGE_SIZE + 8] = {0};
    memcpy (longer, frame, sizeof frame);
    ck_assert_int_eq (ps_metrics_stage_decode (longer, sizeof longer, &back), 0);
    //  Shorter, another version, more idle than workers, no interval: refused
    ck_assert_int_eq (ps_metrics_stage_decode (frame, sizeof frame - 1, &back), -1);
    ck_assert_int_eq (ps_metrics_stage_decode (NULL, 0, &back), -1);
    frame[0] = 2;
    ck_assert_int_eq (ps_metrics_stage_decode (frame, sizeof frame, &back), -1);
    stage.idle = 6;
    ps_metrics_stage_encode (&stage, frame);
    ck_assert_int_eq (ps_metrics_stage_decode (frame, sizeof frame, &back), -1);
    stage.idle = 2;
    stage.interval_ms = 0;
    ps_metrics_stage_encode (&stage, frame);
    ck_assert_int_eq (ps_metrics_stage_decode (frame, sizeof frame, &back), -1);
}
END_TEST

START_TEST (test_stages_up_and_down)
{
    ps_metrics_t *metrics = ps_metrics_new ();
    char *text = s_render (metrics, 0, 0, 0);
    ck_assert_ptr_null (strstr (text, "prime_server_stage"));  //  none reported yet
    free (text);

    ps_metrics_stage_t parse = {4, 1, 2, 100, 3, 1000};
    ps_metrics_stage_t compute = {2, 2, 0, 50, 0, 500};
    ck_assert_int_eq (ps_metrics_stage_report (metrics, "parse", 5, &parse, 10000), 0);
    ck_assert_int_eq (ps_metrics_stage_report (metrics, "com\"pute", 8, &compute, 10000), 0);
    //  Bad names: empty, too long, with a NUL
    ck_assert_int_eq (ps_metrics_stage_report (metrics, "", 0, &parse, 10000), -1);
    char long_name[PS_METRICS_STAGE_NAME_MAX + 1];
    memset (long_name, 'a', sizeof long_name);
    ck_assert_int_eq (ps_metrics_stage_report (metrics, long_name, sizeof long_name, &parse, 10000),
                      -1);
    ck_assert_int_eq (ps_metrics_stage_report (metrics, "a\0b", 3, &parse, 10000), -1);

    text = s_render (metrics, 0, 0, 11000);
    ck_assert_double_eq (s_value (text, "prime_server_stage_up{stage=\"parse\"}"), 1);
    ck_assert_double_eq (s_value (text, "prime_server_stage_up{stage=\"com\\\"pute\"}"), 1);
    ck_assert_double_eq (
        s_value (text, "prime_server_stage_workers{stage=\"parse\",state=\"idle\"}"), 1);
    ck_assert_double_eq (
        s_value (text, "prime_server_stage_workers{stage=\"parse\",state=\"busy\"}"), 3);
    ck_assert_double_eq (s_value (text, "prime_server_stage_queued_jobs{stage=\"parse\"}"), 2);
    ck_assert_double_eq (s_value (text, "prime_server_stage_jobs_total{stage=\"parse\"}"), 100);
    ck_assert_double_eq (s_value (text, "prime_server_stage_jobs_lost_total{stage=\"parse\"}"), 3);
    ck_assert_double_eq (s_value (text, "prime_server_stage_jobs_total{stage=\"com\\\"pute\"}"),
                         50);
    free (text);

    //  compute reports every 500 ms: 3 missed (1.5 s) and it is down, with
    //  no figures at all; parse (every 1 s) is still up
    text = s_render (metrics, 0, 0, 11600);
    ck_assert_double_eq (s_value (text, "prime_server_stage_up{stage=\"com\\\"pute\"}"), 0);
    ck_assert_ptr_null (strstr (text, "stage=\"com\\\"pute\",state"));
    ck_assert_double_eq (s_value (text, "prime_server_stage_jobs_total{stage=\"com\\\"pute\"}"),
                         -1);
    ck_assert_double_eq (s_value (text, "prime_server_stage_up{stage=\"parse\"}"), 1);
    free (text);

    //  A new report brings it back, with the new figures
    compute.jobs = 60;
    ps_metrics_stage_report (metrics, "com\"pute", 8, &compute, 12000);
    text = s_render (metrics, 0, 0, 12100);
    ck_assert_double_eq (s_value (text, "prime_server_stage_up{stage=\"com\\\"pute\"}"), 1);
    ck_assert_double_eq (s_value (text, "prime_server_stage_jobs_total{stage=\"com\\\"pute\"}"),
                         60);
    free (text);
    ps_metrics_destroy (&metrics);
}
END_TEST

START_TEST (test_process)
{
    ps_metrics_t *metrics = ps_metrics_new ();
    char *text = s_render (metrics, 0, 0, 0);
    ck_assert_double_gt (s_value (text, "process_resident_memory_bytes"), 100000);
    ck_assert_double_ge (s_value (text, "process_cpu_seconds_total"), 0);
    ck_assert_double_ge (s_value (text, "process_open_fds"), 3);
    double start = s_value (text, "process_start_time_seconds");
    double now = (double) time (NULL);
    ck_assert_double_le (start, now + 1);
    ck_assert_double_gt (start, now - 3600);  //  this test's process started just now
    free (text);
    ps_metrics_destroy (&metrics);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("ps_metrics");
    TCase *tcase = tcase_create ("core");
    tcase_add_test (tcase, test_requests_and_histogram);
    tcase_add_test (tcase, test_rejected);
    tcase_add_test (tcase, test_stage_frame);
    tcase_add_test (tcase, test_stages_up_and_down);
    tcase_add_test (tcase, test_process);
    suite_add_tcase (suite, tcase);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
