from ._lib import ClipKitError as ClipKitError
from .decoder import Frame as Frame, FrameBatch as FrameBatch, StreamMetadata as StreamMetadata, VideoDecoder as VideoDecoder
from .loader import ClipLoader as ClipLoader

__version__: str
abi_version: str
