"""clipkit.VideoDecoder: frame-exact random access to a video (or a frame folder)."""
import ctypes
import json

import numpy as np

from . import _lib
from ._lib import lib

try:  # torch is optional: numpy arrays without it
    import torch as _torch
except ImportError:  # pragma: no cover - depends on the environment
    _torch = None


class VideoDecoder(_lib.Closable):
    """Decodes frames at any indices, in any order, equal to the ffmpeg CLI's
    (`ffmpeg -i F -vf format=rgb24`) byte for byte.

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

    def __init__(self, path, *, dimension_order="NCHW", short_side=None, size=None, crop=None, rotate=True,
                 stream_index=None):
        if dimension_order not in ("NCHW", "NHWC"):
            raise ValueError(f"dimension_order must be NCHW or NHWC, not {dimension_order!r}")
        if short_side is not None and size is not None:
            raise ValueError("give short_side or size, not both")
        self.path = str(path)
        self.dimension_order = dimension_order
        if crop is not None and (len(crop) != 4 or min(crop) < 0 or crop[2] == 0 or crop[3] == 0):
            raise ValueError(f"crop must be (x, y, width, height) with width, height > 0, not {crop!r}")
        self._format = _lib.FrameFormat(short_side or 0, *(size if size else (0, 0)), *(crop if crop else (0, 0, 0, 0)))
        if stream_index is not None and (not isinstance(stream_index, int) or not 0 <= stream_index < 2**31):
            raise ValueError(f"stream_index must be a stream index (an int >= 0) or None, not {stream_index!r}")
        self._handle = lib.clipkit_decoder_open(self.path.encode(), 1 if rotate else 0,
                                                -1 if stream_index is None else stream_index)
        if not self._handle:
            raise _lib.error()
        self.metadata = json.loads(lib.clipkit_decoder_metadata(self._handle))
        w, h = ctypes.c_int32(), ctypes.c_int32()
        _lib.check(lib.clipkit_decoder_output_size(self._handle, ctypes.byref(self._format), ctypes.byref(w), ctypes.byref(h)))
        self.width, self.height = w.value, h.value

    def close(self):
        if getattr(self, "_handle", None):
            lib.clipkit_decoder_close(self._handle)
            self._handle = None

    def __len__(self):
        return self.metadata["frames"]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.get_frames_at(list(range(*index.indices(len(self)))))
        if index < 0:
            index += len(self)
        return self.get_frames_at([index])[0]

    def get_frames_at(self, indices):
        """Frames at display-order `indices`, in the order given (repeats allowed)."""
        if self._handle is None:
            raise ValueError(f"{self.path}: the decoder is closed")
        wanted = np.ascontiguousarray(np.asarray(indices, dtype=np.int64).reshape(-1))
        out = np.empty((len(wanted), self.height, self.width, 3), dtype=np.uint8)
        _lib.check(lib.clipkit_decoder_frames(self._handle, wanted.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), len(wanted),
                                              ctypes.byref(self._format), out.ctypes.data, out.nbytes))
        if self.dimension_order == "NCHW":
            out = out.transpose(0, 3, 1, 2)
        return _torch.from_numpy(out) if _torch is not None else out

    get_batch = get_frames_at  # decord's name
