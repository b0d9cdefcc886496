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

#include "ranges.h"

/// A format context that reads through `io` (AVFMT_FLAG_CUSTOM_IO), for avformat_open_input.
static inline AVFormatContext *cffmpeg_format_context_reading(AVIOContext *io) {
    AVFormatContext *context = avformat_alloc_context();
    if (!context) return NULL;
    context->pb = io;
    context->flags |= AVFMT_FLAG_CUSTOM_IO;
    return context;
}

#endif
