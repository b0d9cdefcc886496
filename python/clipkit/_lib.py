"""The ctypes binding of libClipKitC.so (Sources/ClipKitC/include/clipkit.h).

ctypes releases the GIL for the length of every call, so ClipKit decodes and
loads while other Python threads run."""
import ctypes
import os

_here = os.path.dirname(os.path.abspath(__file__))
_path = os.environ.get("CLIPKIT_LIBRARY") or os.path.join(_here, "libClipKitC.so")
try:
    lib = ctypes.CDLL(_path)
except OSError as error:
    raise ImportError(f"clipkit: cannot load its library {_path}: {error}. "
                      "Install FFmpeg's shared libraries (Debian: libavformat59 libavcodec59 libswscale6), "
                      "or reinstall with `pip install ./python` from a ClipKit checkout.") from None


class ClipKitError(RuntimeError):
    """An error ClipKit reported: the file and the reason."""


class ClipKitIndexError(ClipKitError, IndexError):
    """A frame index or time outside the video: an IndexError, as for any Python sequence."""


class ClipKitValueError(ClipKitError, ValueError):
    """A bad argument: a ValueError."""


class DecoderOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("apply_rotation", ctypes.c_int32), ("stream_index", ctypes.c_int32),
                ("threads", ctypes.c_int32)]

    def __init__(self, apply_rotation, stream_index, threads):
        super().__init__(ctypes.sizeof(DecoderOptions), apply_rotation, stream_index, threads)


class FrameFormat(ctypes.Structure):
    _fields_ = [("short_side", ctypes.c_int32), ("width", ctypes.c_int32), ("height", ctypes.c_int32),
                ("crop_x", ctypes.c_int32), ("crop_y", ctypes.c_int32), ("crop_w", ctypes.c_int32), ("crop_h", ctypes.c_int32)]


_c = ctypes
_i64p = _c.POINTER(_c.c_int64)
_signatures = {
    "clipkit_last_error": (_c.c_char_p, []),
    "clipkit_last_error_kind": (_c.c_int, []),
    "clipkit_version": (_c.c_char_p, []),
    "clipkit_decoder_open_with": (_c.c_void_p, [_c.c_char_p, _c.c_char_p, _c.c_int64, _c.c_void_p]),
    "clipkit_decoder_close": (None, [_c.c_void_p]),
    "clipkit_decoder_metadata": (_c.c_char_p, [_c.c_void_p]),
    "clipkit_decoder_output_size": (_c.c_int, [_c.c_void_p, _c.POINTER(FrameFormat), _c.POINTER(_c.c_int32), _c.POINTER(_c.c_int32)]),
    "clipkit_decoder_frames": (_c.c_int, [_c.c_void_p, _i64p, _c.c_int64, _c.POINTER(FrameFormat), _c.c_void_p, _c.c_int64]),
    "clipkit_decoder_frame_times": (_c.c_int64, [_c.c_void_p, _c.POINTER(_c.c_double), _c.POINTER(_c.c_double), _c.c_int64]),
    "clipkit_decoder_indices_played_at": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_double), _c.c_int64, _i64p]),
    "clipkit_loader_open": (_c.c_void_p, [_c.c_char_p]),
    "clipkit_loader_close": (None, [_c.c_void_p]),
    "clipkit_loader_sample_shape": (_c.c_int, [_c.c_void_p, _i64p, _c.c_int]),
    "clipkit_loader_videos": (_c.c_int64, [_c.c_void_p]),
    "clipkit_loader_batches": (_c.c_int64, [_c.c_void_p]),
    "clipkit_loader_start_epoch": (_c.c_int, [_c.c_void_p, _c.c_int64, _c.c_int64]),
    "clipkit_loader_next": (_c.c_int, [_c.c_void_p, _c.c_void_p, _c.c_int64, _i64p, _i64p, _i64p, _c.c_int32]),
    "clipkit_loader_next_owned": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.POINTER(_c.c_float)), _i64p, _i64p, _i64p, _c.c_int32]),
    "clipkit_loader_stop": (None, [_c.c_void_p]),
    "clipkit_loader_failures": (_c.c_char_p, [_c.c_void_p]),
}
for _name, (_restype, _argtypes) in _signatures.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        raise ImportError(f"clipkit: its library {_path} is older than this package (no {_name}); "
                          "reinstall both from one ClipKit checkout") from None
    _f.restype = _restype
    _f.argtypes = _argtypes


# Giving batch buffers back runs in finalizers, possibly while another thread
# is inside ClipKit; these calls keep the GIL, so that they never overlap a
# close() of the loader (which first marks the loader closed, under the GIL).
gil = ctypes.PyDLL(_path)
gil.clipkit_loader_recycle.restype = None
gil.clipkit_loader_recycle.argtypes = [_c.c_void_p, _c.c_void_p]
gil.clipkit_buffer_free.restype = None
gil.clipkit_buffer_free.argtypes = [_c.c_void_p]


# clipkit.h's CLIPKIT_ERROR_*: I/O, argument, index.
_KINDS = {1: ClipKitError, 2: ClipKitValueError, 3: ClipKitIndexError}


def error():
    """The calling thread's last ClipKit error, as an exception of its kind: ValueError for an
    argument ClipKit refuses, IndexError for a frame or time outside the video."""
    kind = _KINDS.get(lib.clipkit_last_error_kind(), ClipKitError)
    return kind(lib.clipkit_last_error().decode("utf-8", "replace"))


def check(status):
    if status < 0:
        raise error()
    return status


class Closable:
    """close() on garbage collection and at the end of a `with` block."""

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()
