// FFmpeg headers for Swift, plus the macros Swift cannot import, re-exported
// as inline functions.
#ifndef CLIPKIT_CFFMPEG_SHIM_H
#define CLIPKIT_CFFMPEG_SHIM_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>

static inline int cffmpeg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int64_t cffmpeg_nopts_value(void) { return AV_NOPTS_VALUE; }

/// AVERROR_HTTP_* by status: 400, 401, 403, 404, 499 (other 4xx), 500 (5xx); 0 otherwise.
static inline int cffmpeg_averror_http(int status) {
    switch (status) {
    case 400: return AVERROR_HTTP_BAD_REQUEST;
    case 401: return AVERROR_HTTP_UNAUTHORIZED;
    case 403: return AVERROR_HTTP_FORBIDDEN;
    case 404: return AVERROR_HTTP_NOT_FOUND;
    case 499: return AVERROR_HTTP_OTHER_4XX;
    case 500: return AVERROR_HTTP_SERVER_ERROR;
    default: return 0;
    }
}

/// The message FFmpeg has for an error code.
static inline void cffmpeg_error_string(int code, char *buffer, size_t size) {
    av_strerror(code, buffer, size);
}

/// The stream's display matrix (9 int32), or NULL when it has none.
static inline const int32_t *cffmpeg_display_matrix(const AVStream *stream) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData *sd = av_packet_side_data_get(stream->codecpar->coded_side_data,
                                                         stream->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
    return sd ? (const int32_t *)sd->data : NULL;
#else
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    return size >= 9 * sizeof(int32_t) ? (const int32_t *)data : NULL;
#endif
}

/// Whether a decoded frame carries FFmpeg's corrupt flag or decode-error flags.
static inline int cffmpeg_frame_is_damaged(const AVFrame *frame) {
    return (frame->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame->decode_error_flags != 0;
}

/// Whether a decoded frame is a keyframe (the flag moved in FFmpeg 6.1).
static inline int cffmpeg_frame_is_key(const AVFrame *frame) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 29, 100)
    return (frame->flags & AV_FRAME_FLAG_KEY) != 0;
#else
    return frame->key_frame;
#endif
}

/// FF_QP2LAMBDA: quantiser to lambda (MPEG-4 qscale).
static inline int cffmpeg_qp2lambda(void) { return FF_QP2LAMBDA; }

/// Stores a display matrix (9 int32) on an output stream before its header is written.
static inline void cffmpeg_set_display_matrix(AVStream *stream, const int32_t *matrix) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    AVPacketSideData *sd = av_packet_side_data_new(&stream->codecpar->coded_side_data,
                                                   &stream->codecpar->nb_coded_side_data,
                                                   AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t), 0);
    if (sd) memcpy(sd->data, matrix, 9 * sizeof(int32_t));
#else
    uint8_t *data = av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    if (data) memcpy(data, matrix, 9 * sizeof(int32_t));
#endif
}

/// sws_scale of a whole frame into an allocated frame; returns the rows written (< 0: error).
static inline int cffmpeg_scale_frame(struct SwsContext *context, const AVFrame *src, AVFrame *dst) {
    return sws_scale(context, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data, dst->linesize);
}

/// Reading a byte range of a file (a tar member) as a whole input: an
/// AVIOContext whose reads and seeks stay inside [start, start + size).
typedef struct {
    int fd;             // a local file, or
    AVIOContext *inner; // a remote one (owned), when fd < 0
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
        int64_t at = r->start + r->position;
        if (avio_tell(r->inner) != at) {
            int64_t sought = avio_seek(r->inner, at, SEEK_SET);
            if (sought < 0) return (int)sought;
        }
        got = avio_read(r->inner, buffer, wanted);
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

static inline AVIOContext *cffmpeg_range_io_make(int fd, AVIOContext *inner, int64_t start, int64_t size);

/// Opens `path` and an AVIOContext over `size` bytes from `start`; NULL with
/// errno set (or ENOMEM) on failure. Free it with cffmpeg_range_io_close.
static inline AVIOContext *cffmpeg_range_io_open(const char *path, int64_t start, int64_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    return cffmpeg_range_io_make(fd, NULL, start, size);
}

/// An AVIOContext over `size` bytes from `start` of `inner` (an opened remote
/// archive), which it owns from now on; NULL (inner closed) on failure.
static inline AVIOContext *cffmpeg_range_io_over(AVIOContext *inner, int64_t start, int64_t size) {
    return cffmpeg_range_io_make(-1, inner, start, size);
}

static inline AVIOContext *cffmpeg_range_io_make(int fd, AVIOContext *inner, int64_t start, int64_t size) {
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
        if (inner) avio_closep(&inner);
        errno = ENOMEM;
        return NULL;
    }
    r->fd = fd;
    r->inner = inner;
    r->start = start;
    r->size = size;
    return io;
}

/// Bytes read from the file through `io` so far.
static inline int64_t cffmpeg_range_io_bytes(const AVIOContext *io) {
    return ((const cffmpeg_range *)io->opaque)->bytes_read;
}

static inline void cffmpeg_range_io_close(AVIOContext **io) {
    if (!io || !*io) return;
    cffmpeg_range *r = (cffmpeg_range *)(*io)->opaque;
    if (r) {
        if (r->fd >= 0) close(r->fd);
        if (r->inner) avio_closep(&r->inner);
        av_free(r);
    }
    av_freep(&(*io)->buffer);
    avio_context_free(io);
}

/// A format context that reads through `io` (AVFMT_FLAG_CUSTOM_IO), for avformat_open_input.
static inline AVFormatContext *cffmpeg_format_context_reading(AVIOContext *io) {
    AVFormatContext *context = avformat_alloc_context();
    if (!context) return NULL;
    context->pb = io;
    context->flags |= AVFMT_FLAG_CUSTOM_IO;
    return context;
}

#endif
