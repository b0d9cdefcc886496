"""Type stubs of clipkit.loader (see loader.py for the documentation)."""
from os import PathLike
from typing import Any, Iterator, Literal, Optional, Sequence, Union

Array = Any  # a torch.Tensor when torch is installed, else a numpy.ndarray
Entry = Union[tuple[Union[str, PathLike], int], tuple[Union[str, PathLike], int, int]]

class ClipLoader:
    options: dict[str, Any]
    sample_shape: tuple[int, ...]
    batch_size: int
    epoch: int
    failures: list[dict[str, Any]]  # the epoch's broken videos so far, each once
    def __init__(
        self,
        manifest: Union[str, PathLike, Sequence[Entry]],
        *,
        mode: Literal["train", "test"] = "train",
        frames: int = 8,
        interval: int = 8,
        sampling: Literal["dense", "uniform", "slowfast"] = "dense",
        crop: int = 224,
        short_side: tuple[int, int] = (256, 320),
        flip: float = 0.5,
        variant: str = "full",
        num_clips: int = 10,
        crops: Literal[1, 3] = 3,
        test_short_side: Optional[int] = None,
        batch: int = 8,
        workers: int = 2,
        queue_depth: int = 4,
        shuffle: Optional[bool] = None,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def videos(self) -> int: ...
    def set_epoch(self, epoch: int) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "ClipLoader": ...
    def __exit__(self, *exc: object) -> None: ...
    def __iter__(self) -> Iterator[tuple[Array, Array]]: ...
    def batches(self, epoch: int, start: Optional[int] = None, with_videos: bool = False) -> Iterator[tuple[Any, ...]]: ...
