// A process-wide pool of idle connections, by key: what libavformat's
// public API lacks for kept-alive http requests (CFFmpeg/ranges.h).
#ifndef CLIPKIT_CPOOL_H
#define CLIPKIT_CPOOL_H

/// An idle connection kept for `key` (taken out of the pool), or NULL. One
/// connection idle longer than 15 s (any key) is taken out too, into
/// `*stale`, for the caller to close: call again while it gives one.
void *cpool_take(const char *key, void **stale);
/// Keeps `connection` for `key`; returns it back (for the caller to close)
/// when the pool is full or the key too long.
void *cpool_give(const char *key, void *connection);

#endif
