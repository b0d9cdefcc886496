"""clipkit.VideoDecoder: frame-exact random access to a video (or a frame folder).

The torchcodec-named methods (`get_frame_at`, `get_frames_in_range`,
`get_frames_played_at`, `get_frames_played_in_range`) return `Frame` and
`FrameBatch` (`data`, `pts_seconds`, `duration_seconds`), as torchcodec's do.
The one difference from torchcodec: `get_frames_at` (and `get_batch`,
indexing) return the frames alone, a plain array, as decord and ClipKit's
earlier versions do; torchcodec's `get_frames_at` returns a `FrameBatch`.
"""
import ctypes
import json
import operator
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _lib
from ._lib import lib

try:  # torch is optional: numpy arrays without it
    import torch as _torch
except ImportError:  # pragma: no cover - depends on the environment
    _torch = None


@dataclass
class Frame:
    """One frame: `data` (C×H×W or H×W×C uint8), when it is shown and for how long (seconds)."""
    data: Any
    pts_seconds: float
    duration_seconds: float


@dataclass
class FrameBatch:
    """Frames: `data` (N×C×H×W or N×H×W×C uint8), and each frame's `pts_seconds` and
    `duration_seconds` (float64, length N)."""
    data: Any
    pts_seconds: Any
    duration_seconds: Any


class StreamMetadata(dict):
    """The decoder's metadata: a dict under ClipKit's keys (`frames`, `fps`, `duration`, …),
    also read as attributes under torchcodec's names."""

    @property
    def num_frames(self) -> int:
        return self["frames"]

    @property
    def average_fps(self) -> float:
        return self["fps"]

    @property
    def duration_seconds(self) -> float:
        return self["duration"]

    @property
    def begin_stream_seconds(self) -> float:
        return self["begin_stream_seconds"]

    @property
    def end_stream_seconds(self) -> float:
        return self["end_stream_seconds"]

    @property
    def codec(self) -> str:
        return self["codec"]

    @property
    def width(self) -> int:
        return self["width"]

    @property
    def height(self) -> int:
        return self["height"]

    @property
    def rotation(self):
        """The display matrix's counterclockwise angle in degrees (float), as torchcodec and ffprobe
        report it, or None without one. The key `rotation` is the clockwise turn ClipKit applies."""
        angle = self.get("display_matrix_rotation")
        return None if angle is None else float(angle)

    @property
    def stream_index(self) -> int:
        return self["stream"]


class VideoDecoder(_lib.Closable):
    """Decodes frames at any indices, in any order, equal to the ffmpeg CLI's
    (`ffmpeg -i F -vf format=rgb24`) byte for byte.

    `source`: a path (a video file or a folder of frames), or a video file's
    bytes (bytes, bytearray, memoryview, or a file object opened "rb"), which
    are decoded in memory without a copy on disk, as torchcodec takes them.
    `num_ffmpeg_threads` (1; 0 lets FFmpeg pick), `seek_mode` and `device`
    are torchcodec's: frames are exact in either seek mode (the index cache
    makes opens fast), on the CPU.
    `dimension_order`: "NCHW" (torchvision, torchcodec) or "NHWC" (decord).
    `short_side` scales the shorter side to that many pixels; `size=(width,
    height)` scales to exactly that; neither keeps the native size. `crop=(x,
    y, width, height)` takes that box of the displayed frame, in native
    pixels, before any scaling (only those pixels are converted). `rotate` applies the file's display rotation as
    the CLI does. `stream_index` picks a video stream by its container index (`ffmpeg -map 0:N`); by default the
    decoder takes the stream the ffmpeg CLI takes without `-map` (largest, default disposition first).
    Frames come back as torch tensors when torch is installed (numpy arrays
    otherwise), uint8, without a copy of what ClipKit decoded.
    """

    def __init__(self, source, *, dimension_order="NCHW", short_side=None, size=None, crop=None, rotate=True,
                 stream_index=None, num_ffmpeg_threads=1, seek_mode="exact", device=None):
        # Kept to open the same decoder again where it is copied or pickled (a DataLoader's spawned workers).
        self._options = dict(dimension_order=dimension_order, short_side=short_side, size=size, crop=crop,
                             rotate=rotate, stream_index=stream_index, num_ffmpeg_threads=num_ffmpeg_threads,
                             seek_mode=seek_mode, device=device)
        self._lock = threading.Lock()  # one call into a decoder at a time: its FFmpeg state is not shareable
        if dimension_order not in ("NCHW", "NHWC"):
            raise ValueError(f"dimension_order must be NCHW or NHWC, not {dimension_order!r}")
        if short_side is not None and size is not None:
            raise ValueError("give short_side or size, not both")
        self._data = _video_bytes(source)  # kept while the decoder lives: ClipKit reads it in place
        if self._data is None:
            self.path = os.fsdecode(source)
            if "\0" in self.path:
                raise ValueError(f"{self.path!r}: a path cannot hold a NUL character")
        else:
            name = getattr(source, "name", None)
            self.path = name if isinstance(name, str) and "\0" not in name else "<bytes>"
        self.dimension_order = dimension_order
        if short_side is not None and not (_is_int(short_side) and short_side > 0):
            raise ValueError(f"short_side must be an int > 0, not {short_side!r}")
        if size is not None and not (len(size) == 2 and all(_is_int(v) and v > 0 for v in size)):
            raise ValueError(f"size must be (width, height) with ints > 0, not {size!r}")
        if crop is not None and (len(crop) != 4 or min(crop) < 0 or crop[2] == 0 or crop[3] == 0):
            raise ValueError(f"crop must be (x, y, width, height) with width, height > 0, not {crop!r}")
        self._format = _lib.FrameFormat(short_side or 0, *(size if size else (0, 0)), *(crop if crop else (0, 0, 0, 0)))
        if stream_index is not None:
            if not _is_int(stream_index) or not 0 <= stream_index < 2**31:
                raise ValueError(f"stream_index must be a stream index (an int >= 0) or None, not {stream_index!r}")
            stream_index = operator.index(stream_index)
        if not (_is_int(num_ffmpeg_threads) and 0 <= num_ffmpeg_threads < 2**31):
            raise ValueError(f"num_ffmpeg_threads must be an int >= 0 (0: FFmpeg picks), not {num_ffmpeg_threads!r}")
        if seek_mode not in ("exact", "approximate"):  # torchcodec's; ClipKit's frames are always exact
            raise ValueError(f"seek_mode must be 'exact' or 'approximate', not {seek_mode!r}")
        if device is not None and str(device) != "cpu":  # "cpu" or torch.device("cpu")
            raise ValueError(f"ClipKit decodes on the CPU: device must be 'cpu' or None, not {device!r}")
        options = _lib.DecoderOptions(1 if rotate else 0, -1 if stream_index is None else stream_index,
                                      operator.index(num_ffmpeg_threads))
        self._handle = lib.clipkit_decoder_open_with(os.fsencode(self.path), self._data,
                                                     0 if self._data is None else len(self._data), ctypes.byref(options))
        if not self._handle:
            raise _lib.error()
        self.metadata = StreamMetadata(json.loads(lib.clipkit_decoder_metadata(self._handle)))
        count = _lib.check(lib.clipkit_decoder_frame_times(self._handle, None, None, 0))
        self._pts = np.empty(count, dtype=np.float64)
        self._durations = np.empty(count, dtype=np.float64)
        _lib.check(lib.clipkit_decoder_frame_times(self._handle, _doubles(self._pts), _doubles(self._durations), count))
        if count:
            self.metadata["begin_stream_seconds"] = float(self._pts[0])
            self.metadata["end_stream_seconds"] = float(self._pts[-1] + self._durations[-1])
        else:
            self.metadata["begin_stream_seconds"] = self.metadata["end_stream_seconds"] = 0.0
        w, h = ctypes.c_int32(), ctypes.c_int32()
        _lib.check(lib.clipkit_decoder_output_size(self._handle, ctypes.byref(self._format), ctypes.byref(w), ctypes.byref(h)))
        self.width, self.height = w.value, h.value

    def close(self):
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            if getattr(self, "_handle", None):
                lib.clipkit_decoder_close(self._handle)
                self._handle = None

    def __reduce__(self):
        """A copy or a pickle opens the same file (or bytes) again with the same options (it shares no
        FFmpeg state)."""
        return (_reopen, (self.path if self._data is None else self._data, self._options))

    def __len__(self):
        return self.metadata["frames"]

    def __iter__(self):
        for index in range(len(self)):
            yield self.get_frames_at([index])[0]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.get_frames_at(list(range(*index.indices(len(self)))))
        if isinstance(index, (list, tuple, np.ndarray)) or (_torch is not None and isinstance(index, _torch.Tensor)):
            return self.get_frames_at(index)
        return self.get_frames_at([operator.index(index)])[0]

    def get_frames_at(self, indices):
        """Frames at display-order `indices`, in the order given (repeats allowed; negative ones
        count from the end, as decord's and torchcodec's do). An index outside the video raises IndexError."""
        wanted = np.asarray(indices).reshape(-1)
        if wanted.size and wanted.dtype.kind not in "iu":
            raise TypeError(f"{self.path}: frame indices must be ints, not {wanted.dtype} ({wanted[:3].tolist()}…)")
        wanted = np.ascontiguousarray(wanted.astype(np.int64))
        self._check_indices(wanted, counting_back=True)
        wanted[wanted < 0] += len(self)
        out = np.empty((len(wanted), self.height, self.width, 3), dtype=np.uint8)
        with self._lock:
            _lib.check(lib.clipkit_decoder_frames(self._open_handle(), wanted.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
                                                  len(wanted), ctypes.byref(self._format), out.ctypes.data, out.nbytes))
        if self.dimension_order == "NCHW":
            out = out.transpose(0, 3, 1, 2)
        return _torch.from_numpy(out) if _torch is not None else out

    get_batch = get_frames_at  # decord's name

    # torchcodec's methods ------------------------------------------------------

    def get_frame_at(self, index: int) -> Frame:
        """The frame at display index `index` (negative counts from the end), with its time."""
        index = operator.index(index)
        data = self.get_frames_at([index])[0]  # checks the index, counting back from the end too
        return Frame(data, float(self._pts[index]), float(self._durations[index]))

    def get_frames_in_range(self, start: int, stop: int, step: int = 1) -> FrameBatch:
        """Frames start, start + step, … before stop (display indices), with their times."""
        indices = list(range(start, stop, step))
        self._check_indices(indices)
        return self._batch(indices)

    def get_all_frames(self) -> FrameBatch:
        """Every frame, in display order, with its time."""
        return self._batch(list(range(len(self))))

    def get_frame_played_at(self, seconds: float) -> Frame:
        """The frame on screen at `seconds` (the last frame whose time is at or before it)."""
        return self.get_frame_at(self._indices_played_at([seconds])[0])

    def get_frames_played_at(self, seconds) -> FrameBatch:
        """The frames on screen at each of `seconds` (the last frame whose time is at or before it),
        in the order given: for variable-frame-rate video, what a player shows."""
        return self._batch(self._indices_played_at(seconds))

    def get_frames_played_in_range(self, start_seconds: float, stop_seconds: float) -> FrameBatch:
        """Every frame shown in [start_seconds, stop_seconds): the one on screen at the start and
        those whose time comes before the stop."""
        if not start_seconds <= stop_seconds:
            raise ValueError(f"start_seconds ({start_seconds}) must not be after stop_seconds ({stop_seconds})")
        if start_seconds == stop_seconds:
            return self._batch([])
        first = self._indices_played_at([start_seconds])[0]
        last = int(np.searchsorted(self._pts, stop_seconds, side="left"))
        return self._batch(list(range(first, max(last, first + 1))))

    def _indices_played_at(self, seconds):
        # A time with no frame on screen is an IndexError, as torchcodec's (ClipKit reports its kind).
        times = np.ascontiguousarray(np.asarray(seconds, dtype=np.float64).reshape(-1))
        out = np.empty(len(times), dtype=np.int64)
        with self._lock:
            _lib.check(lib.clipkit_decoder_indices_played_at(self._open_handle(), _doubles(times), len(times),
                                                             out.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))))
        return out.tolist()

    def _open_handle(self):
        """The handle, while the decoder is open (call with the lock held)."""
        if self._handle is None:
            raise ValueError(f"{self.path}: the decoder is closed")
        return self._handle

    def _check_indices(self, indices, counting_back=False):
        """IndexError for the first index outside the video (`counting_back`: -len…-1 are inside too)."""
        count = len(self)
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        bad = indices[(indices < (-count if counting_back else 0)) | (indices >= count)]
        if bad.size:
            raise _lib.ClipKitIndexError(f"{self.path}: frame {int(bad[0])} is outside the video's {count} frames")

    def _batch(self, indices) -> FrameBatch:
        """The frames at `indices` with their times (no indices: an empty batch)."""
        picks = np.asarray(indices, dtype=np.int64)
        pts, durations = self._pts[picks], self._durations[picks]
        if _torch is not None:
            pts, durations = _torch.from_numpy(pts), _torch.from_numpy(durations)
        return FrameBatch(self.get_frames_at(picks), pts, durations)


def _reopen(source, options):
    return VideoDecoder(source, **options)


def _video_bytes(source):
    """The video's bytes when `source` holds them (bytes, bytearray, memoryview, a binary file
    object, as torchcodec takes them); None for a path (str or os.PathLike)."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, (bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)  # the whole file, as torchcodec reads it
        data = source.read()
        if not isinstance(data, bytes):
            raise TypeError(f"a file object given as a video must be opened in binary mode ('rb'), not {type(data).__name__}")
        return data
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        return None
    raise TypeError(f"a video is a path (str, os.PathLike) or its bytes (bytes, a binary file object), "
                    f"not {type(source).__name__}")


def _is_int(value):
    try:
        operator.index(value)
        return not isinstance(value, bool)
    except TypeError:
        return False


def _doubles(array):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
