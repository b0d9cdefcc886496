// Byte ranges as inputs: a tar member of a local or remote archive, and
// http(s) objects read with requests sized to what the demuxer will need.
#ifndef CLIPKIT_CFFMPEG_RANGES_H
#define CLIPKIT_CFFMPEG_RANGES_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>

// MARK: ranged http(s) requests

/// Reads of an http(s) object through bounded `Range: bytes=a-b` requests
/// (libavformat's http protocol with `offset` and `end_offset`), so a server
/// never sends more than was asked for:
/// - while a plan is set (`cffmpeg_http_plan`: a clip's bytes end at
///   `window_end`), a read below it asks for everything up to it plus an
///   eighth more, between `CFFMPEG_HTTP_LEAST_READ_AHEAD` and
///   `CFFMPEG_HTTP_MOST_READ_AHEAD` (the decoder may want a few packets past
///   the next keyframe before it gives up the clip's last frames);
/// - otherwise (headers, indexes, scans) a read asks for a chunk, which
///   starts at `CFFMPEG_HTTP_FIRST_CHUNK` and doubles while reads go on where
///   the last request ended, up to `CFFMPEG_HTTP_LARGEST_CHUNK`.
/// A read elsewhere than where the current response stands ends it and starts
/// a new request.
///
/// Requests go over kept-alive connections: libavformat's
/// http opens a new connection for every range (its reuse of one is not in
/// the public API), so these requests are written here, as HTTP/1.1 over
/// libavformat's own tcp and tls protocols, on connections a process-wide
/// pool keeps between requests (one per worker thread in use). Only a plain
/// `206` with the asked length is taken from them; anything else (a
/// redirect, an error status, a connection lost mid-body) goes to
/// libavformat's http, which follows redirects, names the status and
/// reconnects within the retry budget.
enum {
    CFFMPEG_HTTP_FIRST_CHUNK = 64 << 10,
    CFFMPEG_HTTP_LARGEST_CHUNK = 4 << 20,
    CFFMPEG_HTTP_LEAST_READ_AHEAD = 4 << 10,
    CFFMPEG_HTTP_MOST_READ_AHEAD = 64 << 10,
};

// MARK: kept-alive connections

enum { CFFMPEG_HEAD_SIZE = 16384 };

// The pool of idle connections (Sources/CPool: static state needs a C file of its own).
void *cpool_take(const char *key, void **stale);
void *cpool_give(const char *key, void *connection);

/// A pooled connection for `origin`; ones idle too long to trust (a NAT or
/// load balancer may have dropped them silently) are closed on the way.
static inline AVIOContext *cffmpeg_pool_take(const char *origin) {
    void *stale = NULL;
    AVIOContext *io = (AVIOContext *)cpool_take(origin, &stale);
    while (stale) {
        AVIOContext *old = (AVIOContext *)stale;
        avio_closep(&old);
        stale = NULL;
        if (!io) io = (AVIOContext *)cpool_take(origin, &stale);
    }
    return io;
}

static inline void cffmpeg_pool_give(const char *origin, AVIOContext *io) {
    AVIOContext *refused = (AVIOContext *)cpool_give(origin, io);
    if (refused) avio_closep(&refused);  // the pool is full
}

typedef struct {
    char *url;
    AVDictionary *options;  // the opening options, copied for every request
    AVIOContext *response;  // the current request's body through libavformat's http, or NULL
    int64_t at, end;        // the response's next byte and its end (exclusive)
    int64_t size;           // the object's size (from the first response)
    int64_t window_end;     // the planned reads end here (0: no plan)
    int64_t chunk;          // the size of the next unplanned request
    int decoding;           // 0 while opening (header and index reads), 1 after the first plan
    int64_t requests[2], requested[2];  // by phase: opening, decoding
    int64_t wait_ns;        // time spent opening requests and reading responses
    int64_t connections;    // connections opened (kept-alive ones once, libavformat's http every request)
    // Kept-alive requests ("" origin: not possible for this URL, libavformat's http only).
    char origin[320], host[300], *target, *headers;
    AVDictionary *connection_options;  // tls_verify, ca_file, rw_timeout
    AVIOContext *kept;                 // the current response's connection, or NULL
    int64_t kept_left;                 // body bytes of it not yet read from the socket
    int kept_closes;                   // the server said "Connection: close"
    int whole_object;                  // the server answered a byte range with 200: it serves no ranges
    uint8_t head[CFFMPEG_HEAD_SIZE];   // what was read past the response's header: the body's first bytes
    int head_at, head_end;
} cffmpeg_http;

static inline int64_t cffmpeg_monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/// Opens a request for [at, end) of `url` with `options` (not consumed).
static inline int cffmpeg_http_request(const char *url, const AVDictionary *options, int64_t at, int64_t end,
                                       AVIOContext **response) {
    AVDictionary *o = NULL;
    av_dict_copy(&o, options, 0);
    av_dict_set_int(&o, "offset", at, 0);
    av_dict_set_int(&o, "end_offset", end, 0);
    int code = avio_open2(response, url, AVIO_FLAG_READ, NULL, &o);
    av_dict_free(&o);
    return code;
}

/// The reader's state for `url`, with where its kept-alive requests go (none
/// for other schemes, credentials in the URL, or a proxy); NULL on ENOMEM.
static inline cffmpeg_http *cffmpeg_http_alloc(const char *url, const AVDictionary *options) {
    cffmpeg_http *h = av_mallocz(sizeof(cffmpeg_http));
    char *copy = av_strdup(url);
    if (!h || !copy) {
        av_free(h);
        av_free(copy);
        return NULL;
    }
    h->url = copy;
    h->chunk = CFFMPEG_HTTP_FIRST_CHUNK;
    av_dict_copy(&h->options, options, 0);
    char proto[16], auth[256], host[256], path[4096];
    int port = -1;
    av_url_split(proto, sizeof(proto), auth, sizeof(auth), host, sizeof(host), &port, path, sizeof(path), url);
    int tls = !strcmp(proto, "https");
    if ((tls || !strcmp(proto, "http")) && !auth[0] && host[0] && !getenv("http_proxy")) {
        const char *bracket = strchr(host, ':') ? "[" : "", *close = strchr(host, ':') ? "]" : "";
        snprintf(h->origin, sizeof(h->origin), "%s://%s%s%s:%d", tls ? "tls" : "tcp", bracket, host, close,
                 port > 0 ? port : (tls ? 443 : 80));
        if (port > 0) snprintf(h->host, sizeof(h->host), "%s%s%s:%d", bracket, host, close, port);
        else snprintf(h->host, sizeof(h->host), "%s%s%s", bracket, host, close);
        h->target = av_strdup(path[0] ? path : "/");
        const AVDictionaryEntry *e = av_dict_get(options, "headers", NULL, 0);
        h->headers = av_strdup(e ? e->value : "");
        const char *kept[] = {"tls_verify", "ca_file", "rw_timeout"};
        for (int i = 0; i < 3; i++) {
            e = av_dict_get(options, kept[i], NULL, 0);
            if (e) av_dict_set(&h->connection_options, kept[i], e->value, 0);
        }
        if (!h->target || !h->headers) h->origin[0] = 0;
    }
    return h;
}

/// The first response, [at, end), is open: the reader stands at its start.
static inline void cffmpeg_http_opened(cffmpeg_http *h, int64_t at, int64_t end) {
    h->at = at;
    h->end = end;
    h->requests[0] = 1;
    h->requested[0] = end - at;
}

/// Makes the reader of `url` from its first response (`response`, the bytes
/// [first_at, first_end), opened through libavformat's http by the caller,
/// who classified its failures) and the options later requests open with.
/// Takes `response`; NULL on ENOMEM.
static inline cffmpeg_http *cffmpeg_http_make(const char *url, const AVDictionary *options, AVIOContext *response,
                                              int64_t first_at, int64_t first_end) {
    cffmpeg_http *h = cffmpeg_http_alloc(url, options);
    if (!h) {
        avio_closep(&response);
        return NULL;
    }
    h->response = response;
    h->size = avio_size(response);
    cffmpeg_http_opened(h, first_at, h->size > 0 && h->size < first_end ? h->size : first_end);
    h->connections = 1;
    return h;
}

/// Ends the current response: a kept-alive connection goes back to the pool
/// once its body is read (a rest of up to `CFFMPEG_HTTP_DRAIN` bytes, which
/// the server sends anyway, is read and dropped), any other is closed.
enum { CFFMPEG_HTTP_DRAIN = 1 << 20 };
static inline void cffmpeg_http_end_response(cffmpeg_http *h) {
    avio_closep(&h->response);
    if (h->kept && h->kept_left >= 0 && h->kept_left <= CFFMPEG_HTTP_DRAIN && !h->kept_closes) {
        h->head_at = h->head_end = 0;  // what is buffered is dropped with the rest
        while (h->kept_left > 0) {
            int got = avio_read_partial(h->kept, h->head, (int)FFMIN((int64_t)CFFMPEG_HEAD_SIZE, h->kept_left));
            if (got <= 0) break;
            h->kept_left -= got;
        }
    }
    if (h->kept) {
        if (h->kept_left == 0 && h->head_at == h->head_end && !h->kept_closes) cffmpeg_pool_give(h->origin, h->kept);
        else avio_closep(&h->kept);
        h->kept = NULL;
    }
    h->head_at = h->head_end = 0;
}

/// Asks for [at, end) on a kept-alive connection (from the pool, else a new
/// one): 0 when a `206` for it is coming (`end` cut to the object's size,
/// which the answer gives), < 0 when libavformat's http should ask instead.
/// A pooled connection the server has closed since is replaced by a new one
/// once.
static inline int cffmpeg_http_kept_request(cffmpeg_http *h, int64_t at, int64_t *end_io) {
    int64_t end = *end_io;
    if (!h->origin[0]) return AVERROR(ENOSYS);
    char request[8192];
    int length = snprintf(request, sizeof(request),
                          "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ClipKit\r\nAccept: */*\r\n"
                          "Range: bytes=%" PRId64 "-%" PRId64 "\r\n%sConnection: keep-alive\r\n\r\n",
                          h->target, h->host, at, end - 1, h->headers);
    if (length <= 0 || length >= (int)sizeof(request)) return AVERROR(ENOSYS);
    for (int fresh = 0; fresh < 2; fresh++) {
        AVIOContext *io = fresh ? NULL : cffmpeg_pool_take(h->origin);
        if (!io) {
            fresh = 1;
            AVDictionary *o = NULL;
            av_dict_copy(&o, h->connection_options, 0);
            int code = avio_open2(&io, h->origin, AVIO_FLAG_READ_WRITE, NULL, &o);
            av_dict_free(&o);
            if (code < 0) return code;
            h->connections += 1;
        }
        avio_write(io, (const unsigned char *)request, length);
        avio_flush(io);
        // The header: up to the blank line; what follows it is the body's start.
        int filled = 0, header_end = -1;
        while (header_end < 0 && filled < CFFMPEG_HEAD_SIZE - 1 && !io->error) {
            int got = avio_read_partial(io, h->head + filled, CFFMPEG_HEAD_SIZE - 1 - filled);
            if (got <= 0) break;
            filled += got;
            h->head[filled] = 0;
            char *blank = strstr((char *)h->head, "\r\n\r\n");
            if (blank) header_end = (int)(blank - (char *)h->head) + 4;
        }
        if (header_end < 0) {
            avio_closep(&io);
            if (filled == 0 && !fresh) continue;  // closed while idle: once more on a new connection
            return AVERROR(EIO);
        }
        int status = 0, chunked = 0;
        int64_t body = -1, first = -1, last = -1, total = -1;
        h->kept_closes = !strncmp((char *)h->head, "HTTP/1.0", 8);  // HTTP/1.0 closes unless it says otherwise
        sscanf((char *)h->head, "HTTP/1.%*d %d", &status);
        for (char *line = strstr((char *)h->head, "\r\n"); line && line + 2 < (char *)h->head + header_end;
             line = strstr(line + 2, "\r\n")) {
            const char *field = line + 2;
            if (!strncasecmp(field, "Content-Length:", 15)) body = strtoll(field + 15, NULL, 10);
            else if (!strncasecmp(field, "Content-Range:", 14))
                sscanf(field + 14, " bytes %" SCNd64 "-%" SCNd64 "/%" SCNd64, &first, &last, &total);
            else if (!strncasecmp(field, "Transfer-Encoding:", 18)) chunked = 1;
            else if (!strncasecmp(field, "Connection:", 11)) {
                const char *value = field + 11;
                while (*value == ' ') value++;
                h->kept_closes = !strncasecmp(value, "close", 5) || (h->kept_closes && strncasecmp(value, "keep-alive", 10));
            }
        }
        if (total > 0 && total < end) end = total;  // the object is shorter than the chunk asked for
        if (status != 206 || chunked || body != end - at || first != at || last != end - 1) {
            avio_closep(&io);
            // A redirect, a whole object or an error: libavformat's http takes this URL from now on.
            if (status != 206 && status != 416) h->origin[0] = 0;
            if (status == 200) h->whole_object = 1;
            return AVERROR(EAGAIN);
        }
        if (total > 0) h->size = total;
        *end_io = end;
        h->kept = io;
        h->head_at = header_end;
        h->head_end = filled;
        h->kept_left = body - (filled - header_end);
        return 0;
    }
    return AVERROR(EIO);
}

/// Asks for [at, end) through libavformat's http (a connection of its own).
static inline int cffmpeg_http_ask_libavformat(cffmpeg_http *h, int64_t at, int64_t end) {
    h->connections += 1;
    return cffmpeg_http_request(h->url, h->options, at, end, &h->response);
}

/// Asks for [at, end): kept-alive when it can, else through libavformat's http.
static inline int cffmpeg_http_ask(cffmpeg_http *h, int64_t at, int64_t *end) {
    if (cffmpeg_http_kept_request(h, at, end) == 0) return 0;
    return cffmpeg_http_ask_libavformat(h, at, *end);
}

static inline void cffmpeg_http_free(cffmpeg_http **h);

/// The reader of `url` with its first request, [first_at, first_end), on a
/// kept-alive connection; NULL when that cannot be (the caller then opens it
/// through libavformat's http, which says why), with `*whole_object` set
/// when the server answered the range with the whole object (200).
static inline cffmpeg_http *cffmpeg_http_open_kept(const char *url, const AVDictionary *options, int64_t first_at,
                                                   int64_t first_end, int *whole_object) {
    cffmpeg_http *h = cffmpeg_http_alloc(url, options);
    if (!h) return NULL;
    int64_t end = first_end;
    if (cffmpeg_http_kept_request(h, first_at, &end) < 0 || h->size <= 0) {
        *whole_object = h->whole_object;
        cffmpeg_http_free(&h);
        return NULL;
    }
    cffmpeg_http_opened(h, first_at, end);
    return h;
}

/// Up to `wanted` body bytes of the current response (fewer, or 0 at its end, or < 0).
static inline int cffmpeg_http_body(cffmpeg_http *h, uint8_t *buffer, int wanted) {
    if (h->response) {
        int got = avio_read(h->response, buffer, wanted);
        return got == AVERROR_EOF ? 0 : got;
    }
    if (h->head_at < h->head_end) {
        int n = FFMIN(wanted, h->head_end - h->head_at);
        memcpy(buffer, h->head + h->head_at, n);
        h->head_at += n;
        return n;
    }
    if (h->kept_left <= 0) return 0;
    int got = avio_read_partial(h->kept, buffer, (int)FFMIN((int64_t)wanted, h->kept_left));
    if (got > 0) h->kept_left -= got;
    return got == AVERROR_EOF ? 0 : got;
}

static inline void cffmpeg_http_free(cffmpeg_http **h) {
    if (!h || !*h) return;
    cffmpeg_http_end_response(*h);
    av_freep(&(*h)->target);
    av_freep(&(*h)->headers);
    av_dict_free(&(*h)->connection_options);
    av_dict_free(&(*h)->options);
    av_freep(&(*h)->url);
    av_freep(h);
}

/// The reads of a clip end at `window_end` (an absolute offset; 0 clears the
/// plan). From the first plan on, requests count as decoding, not opening.
static inline void cffmpeg_http_plan(cffmpeg_http *h, int64_t window_end) {
    if (window_end > INT64_MAX / 2) window_end = 0;  // an object of unknown size: no plan
    h->window_end = window_end;
    h->decoding = 1;
}

/// Reads up to `wanted` bytes at `at`: 0 at the end of the object, an
/// AVERROR on failure.
static inline int cffmpeg_http_read(cffmpeg_http *h, int64_t at, uint8_t *buffer, int wanted) {
    if (h->size > 0 && at >= h->size) return 0;
    int64_t started = cffmpeg_monotonic_ns();
    int open = h->response || h->kept;
    if (open && h->at < at && at < h->end && at - h->at <= CFFMPEG_HTTP_DRAIN) {
        // A little further on in the current response: skip to it rather than ask again.
        uint8_t skipped[16384];
        while (h->at < at) {
            int got = cffmpeg_http_body(h, skipped, (int)FFMIN((int64_t)sizeof(skipped), at - h->at));
            if (got <= 0) break;
            h->at += got;
        }
    }
    if (!open || h->at != at || at >= h->end) {
        // Going on where the last unplanned request ended: a sequential read, ask for more at once.
        int sequential = h->at == at && at >= h->end;
        h->chunk = sequential ? FFMIN(h->chunk * 2, CFFMPEG_HTTP_LARGEST_CHUNK) : CFFMPEG_HTTP_FIRST_CHUNK;
        cffmpeg_http_end_response(h);
        int64_t end = at + h->chunk;
        if (at < h->window_end) {
            int64_t ahead = (h->window_end - at) / 8;
            end = h->window_end + FFMAX(CFFMPEG_HTTP_LEAST_READ_AHEAD, FFMIN(ahead, CFFMPEG_HTTP_MOST_READ_AHEAD));
        }
        if (h->size > 0 && end > h->size) end = h->size;
        int code = cffmpeg_http_ask(h, at, &end);
        if (code < 0) {
            h->wait_ns += cffmpeg_monotonic_ns() - started;
            return code;
        }
        h->at = at;
        h->end = end;
        h->requests[h->decoding] += 1;
        h->requested[h->decoding] += end - at;
    }
    if (wanted > h->end - at) wanted = (int)(h->end - at);
    int got = cffmpeg_http_body(h, buffer, wanted);
    if (got <= 0 && h->kept) {
        // The kept-alive connection failed mid-body: the rest through libavformat's http, which
        // reconnects within the retry budget.
        avio_closep(&h->kept);
        cffmpeg_http_end_response(h);
        int code = cffmpeg_http_ask_libavformat(h, at, h->end);
        got = code < 0 ? code : cffmpeg_http_body(h, buffer, wanted);
    }
    h->wait_ns += cffmpeg_monotonic_ns() - started;
    if (got < 0) {
        cffmpeg_http_end_response(h);  // libavformat keeps a read error: the next read asks anew
        return got;
    }  // 0: the server sent less than asked, the object is shorter
    h->at += got;
    if (h->kept && h->kept_left == 0 && h->head_at == h->head_end) cffmpeg_http_end_response(h);  // back to the pool
    return got;
}

// MARK: byte ranges as inputs

/// Reading a byte range (a tar member, a whole http object, or bytes in
/// memory) as a whole input: an AVIOContext whose reads and seeks stay
/// inside [start, start + size).
typedef struct {
    int fd;                // a local file, or
    cffmpeg_http *http;    // a remote one (owned), when fd < 0, or
    const uint8_t *memory; // bytes the caller keeps alive, when fd < 0 and http is NULL
    int64_t start, size, position;
} cffmpeg_range;

static int cffmpeg_range_read(void *opaque, uint8_t *buffer, int wanted) {
    cffmpeg_range *r = (cffmpeg_range *)opaque;
    int64_t left = r->size - r->position;
    if (left <= 0) return AVERROR_EOF;
    if (wanted > left) wanted = (int)left;
    ssize_t got;
    if (r->memory) {
        memcpy(buffer, r->memory + r->start + r->position, (size_t)wanted);
        got = wanted;
    } else if (r->fd < 0) {
        got = cffmpeg_http_read(r->http, r->start + r->position, buffer, wanted);
        if (got < 0) return (int)got;
    } else {
        do {
            got = pread(r->fd, buffer, (size_t)wanted, (off_t)(r->start + r->position));
        } while (got < 0 && errno == EINTR);
        if (got < 0) return AVERROR(errno);
    }
    if (got == 0) return AVERROR_EOF;  // the file is shorter than the range says
    r->position += got;
    return (int)got;
}

static int64_t cffmpeg_range_seek(void *opaque, int64_t offset, int whence) {
    cffmpeg_range *r = (cffmpeg_range *)opaque;
    int64_t target;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return r->size;
    case SEEK_SET: target = offset; break;
    case SEEK_CUR: target = r->position + offset; break;
    case SEEK_END: target = r->size + offset; break;
    default: return AVERROR(EINVAL);
    }
    if (target < 0 || target > r->size) return AVERROR(EINVAL);
    r->position = target;
    return target;
}

static inline AVIOContext *cffmpeg_range_io_make(int fd, cffmpeg_http *http, int64_t start, int64_t size);

/// Opens `path` and an AVIOContext over `size` bytes from `start`; NULL with
/// errno set (or ENOMEM) on failure. Free it with cffmpeg_range_io_close.
static inline AVIOContext *cffmpeg_range_io_open(const char *path, int64_t start, int64_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    return cffmpeg_range_io_make(fd, NULL, start, size);
}

/// An AVIOContext over `size` bytes from `start` of a remote object, whose
/// reader it owns from now on; NULL (the reader freed) on failure.
static inline AVIOContext *cffmpeg_range_io_http(cffmpeg_http *http, int64_t start, int64_t size) {
    return cffmpeg_range_io_make(-1, http, start, size);
}

/// An AVIOContext over `size` bytes at `memory`, which must stay alive and
/// unchanged until cffmpeg_range_io_close; NULL (errno ENOMEM) on failure.
static inline AVIOContext *cffmpeg_range_io_memory(const uint8_t *memory, int64_t size) {
    AVIOContext *io = cffmpeg_range_io_make(-1, NULL, 0, size);
    if (io) ((cffmpeg_range *)io->opaque)->memory = memory;
    return io;
}

static inline AVIOContext *cffmpeg_range_io_make(int fd, cffmpeg_http *http, int64_t start, int64_t size) {
    cffmpeg_range *r = av_mallocz(sizeof(cffmpeg_range));
    const int buffer_size = 1 << 16;
    uint8_t *buffer = av_malloc(buffer_size);
    AVIOContext *io = r && buffer ? avio_alloc_context(buffer, buffer_size, 0, r, cffmpeg_range_read, NULL,
                                                       cffmpeg_range_seek)
                                  : NULL;
    if (!io) {
        av_free(buffer);
        av_free(r);
        if (fd >= 0) close(fd);
        cffmpeg_http_free(&http);
        errno = ENOMEM;
        return NULL;
    }
    r->fd = fd;
    r->http = http;
    r->start = start;
    r->size = size;
    return io;
}

/// The remote reader behind `io`, or NULL for a local file.
static inline cffmpeg_http *cffmpeg_range_io_remote(const AVIOContext *io) {
    return ((const cffmpeg_range *)io->opaque)->http;
}

/// Where the range starts in its file or object, and its size.
static inline int64_t cffmpeg_range_io_start(const AVIOContext *io) {
    return ((const cffmpeg_range *)io->opaque)->start;
}
static inline int64_t cffmpeg_range_io_size(const AVIOContext *io) {
    return ((const cffmpeg_range *)io->opaque)->size;
}

static inline void cffmpeg_range_io_close(AVIOContext **io) {
    if (!io || !*io) return;
    cffmpeg_range *r = (cffmpeg_range *)(*io)->opaque;
    if (r) {
        if (r->fd >= 0) close(r->fd);
        cffmpeg_http_free(&r->http);
        av_free(r);
    }
    av_freep(&(*io)->buffer);
    avio_context_free(io);
}

#endif
