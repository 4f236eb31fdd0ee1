/*  file_stage: a static file server as a work function.

    Shared by prime_filed (one process) and prime_workerd --stage file.
    Serves GET and HEAD for the files under one ROOT directory:

    - Paths are resolved so that nothing outside ROOT is ever opened: the
      decoded request path is split on '/', a ".." segment is refused (403),
      names starting with '.' are not served (404), and the rest is opened
      relative to a descriptor of ROOT with openat2 (RESOLVE_BENEATH): a
      symlink may point elsewhere inside ROOT, never outside (403). Where
      the kernel lacks openat2, and with no_symlinks, the path is walked one
      component at a time with O_NOFOLLOW, so every symlink is refused.
      Only regular files and directories are served (no FIFOs, devices).
    - Content-Type from /etc/mime.types when present (a small built-in table
      otherwise), Last-Modified and a weak ETag; If-None-Match and
      If-Modified-Since answer 304.
    - A directory is served through its index.html; without one, an HTML
      listing when listings are on, else 403. "/dir" redirects (301) to
      "/dir/" so relative links work.
    - A file of up to FILE_STAGE_WHOLE_MAX bytes is answered in one
      RESULT; a larger one is streamed (docs/PROTOCOL.md, "Streamed
      answers") in parts of FILE_STAGE_PART_SIZE read as the client takes
      them, so no file is ever read whole. max_file_size is a policy limit,
      off by default: larger files get 500 with a message saying so (the
      client did nothing wrong, so not 413).
    - One byte range per request (Range: bytes=, file_range.h): 206 with
      Content-Range, 416 with a Content-Range naming the size when it is
      not within the file, the whole file for other units, several ranges
      or If-Range naming another version (strong ETag or exact date); file
      answers say Accept-Ranges: bytes.

    The object is read-only once made, so one can be shared by any number of
    worker threads.
*/
#ifndef FILE_STAGE_H_INCLUDED
#define FILE_STAGE_H_INCLUDED

#include "prime_server/prime_server.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Larger answers are streamed, in parts of FILE_STAGE_PART_SIZE
#define FILE_STAGE_WHOLE_MAX (64 * 1024)
#define FILE_STAGE_PART_SIZE (512 * 1024)
//  Directory listings stop after this many entries (bounded memory)
#define FILE_STAGE_MAX_LISTING 10000

typedef struct {
    const char *root;        //  directory served (default ".")
    bool listing;            //  HTML listings of directories without index.html
    size_t max_file_size;    //  larger files get 500 (default 0: no limit)
    const char *mime_types;  //  mime.types file (default /etc/mime.types if present)
    bool no_symlinks;        //  refuse every symlink, even one pointing inside ROOT
} file_stage_config_t;

void file_stage_config_defaults (file_stage_config_t *config);

//  For a process that streams files: call first in main. A streamed file
//  goes out as parts of FILE_STAGE_PART_SIZE, each a fresh allocation
//  freed once libzmq has written it, and glibc's defaults hand such blocks
//  back to the kernel (mmap for large blocks, trimming of the arenas) and
//  take them again for the next part: a page fault for every 4 KiB served,
//  most of the CPU of a large download. This keeps blocks up to 1 MiB in
//  the heap, and up to 16 MiB free at the top of an arena there; the
//  process's peak (the grants and budgets bound it) is unchanged.
void file_stage_keep_parts_memory (void);

typedef struct _file_stage_t file_stage_t;

//  Opens ROOT and loads the MIME table. NULL, with a logged reason, if ROOT
//  is not a readable directory.
file_stage_t *file_stage_new (const file_stage_config_t *config);
void file_stage_destroy (file_stage_t **self_p);

//  ROOT as an absolute path (borrowed).
const char *file_stage_root (file_stage_t *self);

//  True if symlinks that stay inside ROOT are followed (openat2 is there
//  and no_symlinks is off); false if every symlink is refused.
bool file_stage_follows_symlinks (file_stage_t *self);

//  Resolve a decoded request path ("/a/b.txt") under ROOT. Returns 0 with
//  *fd open (caller closes) on a regular file or directory and *st filled,
//  or the HTTP status to answer: 403 (outside ROOT, symlink refused, not a
//  file or directory, no permission), 404 (no such file, hidden name), 500.
int file_stage_open (file_stage_t *self, const char *path, int *fd, struct stat *st);

//  The media type for a file name, by its extension (borrowed; never NULL:
//  "application/octet-stream" when unknown).
const char *file_stage_mime_type (file_stage_t *self, const char *name);

//  t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into buf (30 bytes).
void file_stage_http_date (time_t t, char *buf);
//  Parse an HTTP date in any of the three forms RFC 9110 5.6.7 names
//  (IMF-fixdate, RFC 850, asctime); true and *t set on success.
bool file_stage_parse_http_date (const char *text, time_t *t);

//  A response, as file_stage_respond makes it.
typedef struct {
    int status;
    ps_pairs_t *headers;  //  owned
    char *body;           //  owned (malloc), may be NULL when body_size is 0
    size_t body_size;
    //  A GET of more than FILE_STAGE_WHOLE_MAX bytes: no body; the answer
    //  is bytes [offset, offset + length) of fd (owned), to be streamed
    bool stream;
    int fd;
    uint64_t offset;
    uint64_t length;
} file_response_t;

//  The answer to a request, without sockets (what the work function sends;
//  tests call it directly). Fills *response; free it with
//  file_response_clear.
void file_stage_respond (file_stage_t *self, const ps_http_request_t *request,
                         file_response_t *response);
void file_response_clear (file_response_t *response);

//  The work function; arg is a file_stage_t.
int file_stage_work (ps_work_t *work, void *arg);

#ifdef __cplusplus
}
#endif
#endif
