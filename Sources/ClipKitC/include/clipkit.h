/* ClipKit's C ABI (libClipKitC.so): the frame-exact decoder and the
 * prefetching clip loader, for the Python package in python/ and any other
 * language with a C FFI.
 *
 * Conventions: functions that return int return 0 (or a count) on success and
 * -1 on error; functions that return a pointer return NULL on error. After an
 * error, clipkit_last_error() gives ClipKit's message (file and reason) for
 * the calling thread. No call aborts the process on bad input. Handles are not
 * thread-safe: use one from one thread at a time. Calls may block (decoding,
 * waiting for a batch) and start threads: do not fork() a process that has
 * opened a loader (use the spawn start method, or num_workers=0). */
#ifndef CLIPKIT_H
#define CLIPKIT_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clipkit_decoder clipkit_decoder;
typedef struct clipkit_loader clipkit_loader;

/* The calling thread's last error message ("" when none). Valid until the
 * next failing call on this thread. */
const char *clipkit_last_error(void);
/* The kind of the calling thread's last error. Since 2.2. */
enum {
    CLIPKIT_ERROR_NONE = 0,
    CLIPKIT_ERROR_IO = 1,       /* a file, stream or server failed: the message names it and why */
    CLIPKIT_ERROR_ARGUMENT = 2, /* a value the caller gave is refused (an option, a size, a crop) */
    CLIPKIT_ERROR_INDEX = 3     /* a frame index or time outside the video */
};
int clipkit_last_error_kind(void);
/* The ABI version, "major.minor". */
const char *clipkit_version(void);

/* Decoder ---------------------------------------------------------------- */

/* Opens a video file or a folder of frame images. apply_rotation: 1 applies
 * the display matrix as the ffmpeg CLI does, 0 keeps the coded orientation. */
/* stream_index: the container's index of the video stream to read, or -1
 * for the one the ffmpeg CLI takes without -map. */
clipkit_decoder *clipkit_decoder_open(const char *path, int apply_rotation, int stream_index);
/* How clipkit_decoder_open_with opens: struct_size = sizeof(clipkit_decoder_options)
 * (later versions add fields at the end and read only what the caller's size
 * holds); apply_rotation as above; stream_index as above (-1: the CLI's);
 * threads: FFmpeg's decoding threads (1, as the loader's workers use; 0 lets
 * FFmpeg pick; frames are the same). Since 2.2. */
typedef struct clipkit_decoder_options {
    uint32_t struct_size;
    int32_t apply_rotation;
    int32_t stream_index;
    int32_t threads;
} clipkit_decoder_options;
/* Opens `path` as clipkit_decoder_open does, or, when `data` is not NULL, a
 * video file's `size` bytes at `data`, read in place (they must stay alive
 * and unchanged until the decoder is closed; `path`, may be NULL, then only
 * names them in messages and metadata: "<bytes>"). `options` may be NULL
 * (rotation on, the CLI's stream, 1 thread). Since 2.2. */
clipkit_decoder *clipkit_decoder_open_with(const char *path, const void *data, int64_t size,
                                           const clipkit_decoder_options *options);
void clipkit_decoder_close(clipkit_decoder *decoder);
/* The metadata as JSON: path, codec, pixel_format, width, height, fps,
 * duration (the frames' span), rotation (clockwise degrees applied),
 * display_matrix_rotation (the matrix's counterclockwise degrees, as ffprobe
 * gives them; absent without one; since 2.2), frames, keyframes, index,
 * index_origin, stream. Valid until close. */
const char *clipkit_decoder_metadata(clipkit_decoder *decoder);

/* Output geometry, shared by the two calls below: crop_w, crop_h > 0 take
 * that box (x, y, w, h) of the displayed frame, in native pixels (only those
 * pixels are converted); then short_side > 0 scales the shorter side of the
 * (cropped) frame to it, else width, height > 0 scale it to exactly that,
 * else it keeps its native size. */
typedef struct clipkit_frame_format {
    int32_t short_side;
    int32_t width;
    int32_t height;
    int32_t crop_x, crop_y, crop_w, crop_h;
} clipkit_frame_format;

/* Width and height of frames decoded with `format`. */
int clipkit_decoder_output_size(clipkit_decoder *decoder, const clipkit_frame_format *format,
                                int32_t *out_width, int32_t *out_height);
/* Frames at display-order `indices` (any order, repeats allowed), written as
 * RGB24 N×H×W×3 into `out` (out_bytes must be count × H × W × 3). */
int clipkit_decoder_frames(clipkit_decoder *decoder, const int64_t *indices, int64_t count,
                           const clipkit_frame_format *format, uint8_t *out, int64_t out_bytes);

/* Each frame's presentation time and how long it is shown, in seconds, in
 * display order: the stream's clock with its start offset (ffprobe's
 * best_effort_timestamp_time), the duration up to the next frame. Writes the
 * first min(frames, capacity) of each (either pointer may be NULL) and
 * returns the frame count. Since 2.1. */
int64_t clipkit_decoder_frame_times(clipkit_decoder *decoder, double *pts, double *durations, int64_t capacity);
/* out[i] = the display index of the frame on screen at seconds[i] (the last
 * frame whose time is at or before it). A time before the first frame or
 * after the last one's end is an error. Since 2.1. */
int clipkit_decoder_indices_played_at(clipkit_decoder *decoder, const double *seconds, int64_t count, int64_t *out);

/* Loader ----------------------------------------------------------------- */

/* Opens a loader from JSON options (see python/clipkit/loader.py):
 * {"manifest": path} or {"entries": [{"path", "label"}, ...]}, "mode":
 * "train"|"test", "frames", "interval", "sampling": "dense"|"uniform"|"slowfast",
 * "crop", "short_side": [a, b], "flip", "variant": "full"|"spatial:β"|"temporal:γ",
 * "num_clips", "crops": 1|3, "test_short_side", "batch", "workers",
 * "queue_depth", "shuffle", "drop_last", "seed", "rank", "world_size". */
clipkit_loader *clipkit_loader_open(const char *options_json);
void clipkit_loader_close(clipkit_loader *loader);
/* One sample's shape (train: C T H W; test: V C T H W); returns its rank. */
int clipkit_loader_sample_shape(clipkit_loader *loader, int64_t *shape, int capacity);
/* Videos in the dataset, and batches in this rank's epoch. */
int64_t clipkit_loader_videos(clipkit_loader *loader);
int64_t clipkit_loader_batches(clipkit_loader *loader);
/* Starts `epoch` (its order depends only on seed and epoch), skipping its
 * first `start_batch` batches; stops any epoch in progress. */
int clipkit_loader_start_epoch(clipkit_loader *loader, int64_t epoch, int64_t start_batch);
/* The next batch into the caller's buffers: clips (batch × sample floats),
 * labels and video indices (batch each); *count gets the samples in it.
 * Returns 1 for a batch, 0 at the end of the epoch, 2 when nothing was ready
 * within timeout_ms (call again), -1 on error. */
int clipkit_loader_next(clipkit_loader *loader, float *clips, int64_t clip_floats, int64_t *labels,
                        int64_t *videos, int64_t *count, int32_t timeout_ms);
/* The same without a copy: *data gets the batch's own buffer (batch × sample
 * floats, *count samples filled), which is then the caller's. Give it back
 * with clipkit_loader_recycle (it is reused), or, after the loader is
 * closed, free it with clipkit_buffer_free. */
int clipkit_loader_next_owned(clipkit_loader *loader, float **data, int64_t *labels, int64_t *videos,
                              int64_t *count, int32_t timeout_ms);
void clipkit_loader_recycle(clipkit_loader *loader, float *buffer);
void clipkit_buffer_free(float *buffer);
/* Ends the epoch in progress; its worker threads have exited on return. */
void clipkit_loader_stop(clipkit_loader *loader);
/* Failures of the last batch (test mode: failed videos; train: replaced), as
 * JSON [{"path", "reason"}]. Valid until the next call on the loader. */
const char *clipkit_loader_failures(clipkit_loader *loader);

#ifdef __cplusplus
}
#endif
#endif
