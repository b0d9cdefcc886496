// Byte ranges as inputs: a tar member of a local or remote archive, and
// http(s) objects read with requests sized to what the demuxer will need.
#ifndef CLIPKIT_CFFMPEG_RANGES_H
#define CLIPKIT_CFFMPEG_RANGES_H

#include <errno.h>
#include <fcntl.h>
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
/// a new request. libavformat's http opens a new connection for every range
/// (its keep-alive reuse is not in the public API), as it does on every seek.
enum {
    CFFMPEG_HTTP_FIRST_CHUNK = 64 << 10,
    CFFMPEG_HTTP_LARGEST_CHUNK = 4 << 20,
    CFFMPEG_HTTP_LEAST_READ_AHEAD = 4 << 10,
    CFFMPEG_HTTP_MOST_READ_AHEAD = 64 << 10,
};

typedef struct {
    char *url;
    AVDictionary *options;  // the opening options, copied for every request
    AVIOContext *response;  // the current request's body, or NULL
    int64_t at, end;        // the response's next byte and its end (exclusive)
    int64_t size;           // the object's size (from the first response)
    int64_t window_end;     // the planned reads end here (0: no plan)
    int64_t chunk;          // the size of the next unplanned request
    int decoding;           // 0 while opening (header and index reads), 1 after the first plan
    int64_t requests[2], requested[2], received[2];  // by phase: opening, decoding
    int64_t wait_ns;        // time spent opening requests and reading responses
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

/// Makes the reader of `url` from its first response (`response`, the bytes
/// [first_at, first_end), opened by the caller, who classified its failures)
/// and the options later requests open with. Takes `response`; NULL on ENOMEM.
static inline cffmpeg_http *cffmpeg_http_make(const char *url, const AVDictionary *options, AVIOContext *response,
                                              int64_t first_at, int64_t first_end) {
    cffmpeg_http *h = av_mallocz(sizeof(cffmpeg_http));
    char *copy = av_strdup(url);
    if (!h || !copy) {
        av_free(h);
        av_free(copy);
        avio_closep(&response);
        return NULL;
    }
    h->url = copy;
    av_dict_copy(&h->options, options, 0);
    h->response = response;
    h->size = avio_size(response);
    h->at = first_at;
    h->end = h->size > 0 && h->size < first_end ? h->size : first_end;
    h->chunk = CFFMPEG_HTTP_FIRST_CHUNK;
    h->requests[0] = 1;
    h->requested[0] = h->end - first_at;
    return h;
}

static inline void cffmpeg_http_free(cffmpeg_http **h) {
    if (!h || !*h) return;
    avio_closep(&(*h)->response);
    av_dict_free(&(*h)->options);
    av_freep(&(*h)->url);
    av_freep(h);
}

/// The reads of a clip end at `window_end` (an absolute offset; 0 clears the
/// plan). From the first plan on, requests count as decoding, not opening.
static inline void cffmpeg_http_plan(cffmpeg_http *h, int64_t window_end) {
    h->window_end = window_end;
    h->decoding = 1;
}

/// Reads up to `wanted` bytes at `at`: 0 at the end of the object, an
/// AVERROR on failure.
static inline int cffmpeg_http_read(cffmpeg_http *h, int64_t at, uint8_t *buffer, int wanted) {
    if (h->size > 0 && at >= h->size) return 0;
    int64_t started = cffmpeg_monotonic_ns();
    if (h->response && (h->at != at || at >= h->end)) {
        // Going on where the last unplanned request ended: a sequential read, ask for more at once.
        int sequential = h->at == at && at >= h->end;
        h->chunk = sequential ? FFMIN(h->chunk * 2, CFFMPEG_HTTP_LARGEST_CHUNK) : CFFMPEG_HTTP_FIRST_CHUNK;
        avio_closep(&h->response);
    }
    if (!h->response) {
        int64_t end = at + h->chunk;
        if (at < h->window_end) {
            int64_t ahead = (h->window_end - at) / 8;
            end = h->window_end + FFMAX(CFFMPEG_HTTP_LEAST_READ_AHEAD, FFMIN(ahead, CFFMPEG_HTTP_MOST_READ_AHEAD));
        }
        if (h->size > 0 && end > h->size) end = h->size;
        int code = cffmpeg_http_request(h->url, h->options, at, end, &h->response);
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
    int got = avio_read(h->response, buffer, wanted);
    h->wait_ns += cffmpeg_monotonic_ns() - started;
    if (got == AVERROR_EOF) got = 0;  // the server sent less than asked: the object is shorter
    if (got < 0) return got;
    h->at += got;
    h->received[h->decoding] += got;
    return got;
}

// MARK: byte ranges as inputs

/// Reading a byte range (a tar member, or a whole http object) as a whole
/// input: an AVIOContext whose reads and seeks stay inside [start, start + size).
typedef struct {
    int fd;             // a local file, or
    cffmpeg_http *http; // a remote one (owned), when fd < 0
    int64_t start, size, position;
    int64_t bytes_read;
} cffmpeg_range;

static int cffmpeg_range_read(void *opaque, uint8_t *buffer, int wanted) {
    cffmpeg_range *r = (cffmpeg_range *)opaque;
    int64_t left = r->size - r->position;
    if (left <= 0) return AVERROR_EOF;
    if (wanted > left) wanted = (int)left;
    ssize_t got;
    if (r->fd < 0) {
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
    r->bytes_read += got;
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

/// Bytes read from the file through `io` so far.
static inline int64_t cffmpeg_range_io_bytes(const AVIOContext *io) {
    return ((const cffmpeg_range *)io->opaque)->bytes_read;
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
