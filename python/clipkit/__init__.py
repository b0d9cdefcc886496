"""ClipKit from Python: a frame-exact FFmpeg video decoder and a prefetching
clip loader, both running in ClipKit's Swift library (no Python in the hot
path; the GIL is released while it works).

Not fork-safe: a process that has opened a ClipLoader runs ClipKit threads,
and a fork() copies none of them. Use the loader in the main process
(torch DataLoader with num_workers=0; `clipkit.torch.ClipDataset`), or the
"spawn" start method.
"""
from ._lib import ClipKitError, lib as _library
from .decoder import Frame, FrameBatch, StreamMetadata, VideoDecoder
from .loader import ClipLoader

__version__ = "0.1.0"
abi_version = _library.clipkit_version().decode()

__all__ = ["VideoDecoder", "Frame", "FrameBatch", "StreamMetadata", "ClipLoader", "ClipKitError", "__version__"]
