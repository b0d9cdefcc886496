"""clipkit.ClipLoader: batches of training or test clips, prefetched by ClipKit's threads."""
import ctypes
import json
import weakref

import numpy as np

from . import _lib
from ._lib import lib

try:
    import torch as _torch
except ImportError:  # pragma: no cover
    _torch = None

_POLL_MS = 100  # how often a waiting iteration returns to Python (Ctrl-C)


class _Handle:
    """The loader's C handle, shared with the finalizers of its batches (None once closed)."""
    def __init__(self, pointer):
        self.pointer = pointer


def _give_back(handle, address):
    # A batch's arrays are all gone: its buffer returns to the loader for reuse
    # (or is freed when the loader was closed first).
    if handle.pointer:
        _lib.gil.clipkit_loader_recycle(handle.pointer, address)
    else:
        _lib.gil.clipkit_buffer_free(address)


class ClipLoader(_lib.Closable):
    """Iterates `(clips, labels)` over one epoch at a time.

    `manifest` is a CSV/JSONL manifest or mmaction2 list path (a `stream`
    column picks a video stream), or a list of `(path, label)` or
    `(path, label, stream_index)`. Train mode: `batch` clips of N×C×T×H×W float32 (T =
    `frames` at `interval`, `sampling` dense/uniform/slowfast, a random
    `crop` from frames scaled to a short side in `short_side`, flipped with
    probability `flip`; `variant` "full", "spatial:β" or "temporal:γ" for
    ITSL's streams). Test mode: N×V×C×T×H×W with V = `num_clips` × `crops`
    views. ImageNet mean/std normalisation. `rank`/`world_size` take this
    process's shard of each epoch (PyTorch's DistributedSampler). The order
    of epoch e depends only on `seed` and e; `set_epoch` chooses e.
    Arrays are torch tensors when torch is installed, numpy otherwise. A
    batch's clips are the buffer ClipKit's workers filled, handed over without
    a copy; it returns to the loader when no array of it is left, so keeping
    batches is safe (memory grows by what you keep).

    `state_dict()` and `load_state_dict()` (torchdata's StatefulDataLoader
    protocol) save and restore the place in an epoch: a loader restored in
    a new process, with the same options, goes on with exactly the batches
    the first one had not yet handed out.
    """

    def __init__(self, manifest, *, mode="train", frames=8, interval=8, sampling="dense", crop=224, short_side=(256, 320),
                 flip=0.5, variant="full", num_clips=10, crops=3, test_short_side=None, batch=8, workers=2, queue_depth=4,
                 shuffle=None, drop_last=False, seed=0, rank=0, world_size=1):
        options = {"mode": mode, "frames": frames, "interval": interval, "sampling": sampling, "crop": crop,
                   "short_side": list(short_side), "flip": flip, "variant": variant, "num_clips": num_clips, "crops": crops,
                   "batch": batch, "workers": workers, "queue_depth": queue_depth, "drop_last": drop_last, "seed": seed,
                   "rank": rank, "world_size": world_size}
        if test_short_side is not None:
            options["test_short_side"] = test_short_side
        if shuffle is not None:
            options["shuffle"] = bool(shuffle)
        if isinstance(manifest, (str, bytes)) or hasattr(manifest, "__fspath__"):
            options["manifest"] = str(manifest)
        else:
            options["entries"] = [_entry(*item) for item in manifest]
        self.options = options
        self._handle = lib.clipkit_loader_open(json.dumps(options).encode())
        if not self._handle:
            raise _lib.error()
        self._shared = _Handle(self._handle)
        shape = (ctypes.c_int64 * 8)()
        rank_ = _lib.check(lib.clipkit_loader_sample_shape(self._handle, shape, 8))
        self.sample_shape = tuple(shape[i] for i in range(rank_))
        self.batch_size = batch
        self.epoch = 0
        self.failures = []
        # The place in an epoch: batches of `epoch` handed out, and where a restored loader starts.
        self._handed_out = 0
        self._resume_at = 0

    def __reduce_ex__(self, protocol):
        raise TypeError("a ClipLoader cannot be copied or pickled (it owns ClipKit's worker threads); pickle its "
                        "state_dict() and give it to a new ClipLoader with the same options")

    def __len__(self):
        """Batches in one epoch of this rank's shard."""
        return _lib.check(lib.clipkit_loader_batches(self._handle))

    @property
    def videos(self):
        return _lib.check(lib.clipkit_loader_videos(self._handle))

    def set_epoch(self, epoch):
        """Chooses the epoch `iter(loader)` gives; another epoch than a restored one starts at its beginning."""
        if int(epoch) != self.epoch:
            self._resume_at = 0
            self._handed_out = 0
        self.epoch = int(epoch)

    def state_dict(self):
        """Where the loader is: the epoch, the batches of it handed out so far, and the options
        (a loader restores only a state of the same options). Plain Python values."""
        return {"version": 1, "epoch": self.epoch, "batches": self._handed_out, "options": dict(self.options)}

    def load_state_dict(self, state):
        """Continues from `state` (from `state_dict`): the next iteration of its epoch starts
        after the batches it had handed out."""
        if state.get("version") != 1:
            raise ValueError(f"not a ClipLoader state (version {state.get('version')!r})")
        mine = json.loads(json.dumps(self.options))
        theirs = json.loads(json.dumps(state["options"]))
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if differ:
            raise ValueError(f"the state was saved by a loader with other options: {', '.join(differ)}")
        batches = int(state["batches"])
        if not 0 <= batches <= len(self):
            raise ValueError(f"the state's position ({batches} batches) is outside the epoch's {len(self)}")
        self.epoch = int(state["epoch"])
        self._handed_out = batches
        self._resume_at = batches

    def close(self):
        if getattr(self, "_handle", None):
            handle, self._handle = self._handle, None
            self._shared.pointer = None  # batches still alive are freed, not recycled, from now on
            lib.clipkit_loader_close(handle)

    def __iter__(self):
        return self.batches(self.epoch)

    def batches(self, epoch, start=None, with_videos=False):
        """The batches of `epoch` from batch `start` on (default: the beginning, or where a
        restored state left the epoch). ClipKit's workers stop when the iteration ends,
        breaks, or is interrupted (Ctrl-C)."""
        if self._handle is None:
            raise ValueError("the loader is closed")
        epoch = int(epoch)
        if start is None:
            start = self._resume_at if epoch == self.epoch else 0
        self._resume_at = 0
        self.epoch = epoch
        self._handed_out = int(start)
        self.failures = []  # this epoch's, gathered batch by batch
        _lib.check(lib.clipkit_loader_start_epoch(self._handle, epoch, int(start)))
        sample = int(np.prod(self.sample_shape))
        labels = np.empty(self.batch_size, dtype=np.int64)
        videos = np.empty(self.batch_size, dtype=np.int64)
        count = ctypes.c_int64()
        data = ctypes.POINTER(ctypes.c_float)()
        i64 = ctypes.POINTER(ctypes.c_int64)
        try:
            while True:
                while True:  # short waits, so that Python sees Ctrl-C between them
                    status = lib.clipkit_loader_next_owned(self._handle, ctypes.byref(data), labels.ctypes.data_as(i64),
                                                           videos.ctypes.data_as(i64), ctypes.byref(count), _POLL_MS)
                    if status != 2:
                        break
                if status == 0:
                    return
                _lib.check(status)
                n = count.value
                address = ctypes.cast(data, ctypes.c_void_p).value
                owner = (ctypes.c_float * (n * sample)).from_address(address)
                weakref.finalize(owner, _give_back, self._shared, address)
                for failure in json.loads(lib.clipkit_loader_failures(self._handle)):
                    if failure not in self.failures:
                        self.failures.append(failure)
                x = np.frombuffer(owner, dtype=np.float32).reshape((n,) + self.sample_shape)
                del owner
                y = labels[:n].copy()
                if _torch is not None:
                    x, y = _torch.from_numpy(x), _torch.from_numpy(y)
                self._handed_out += 1
                yield (x, y, videos[:n].copy()) if with_videos else (x, y)
        finally:
            if self._handle:
                lib.clipkit_loader_stop(self._handle)


def _entry(path, label, stream_index=None):
    """One video of a list manifest: (path, label) or (path, label, stream_index)."""
    entry = {"path": str(path), "label": int(label)}
    if stream_index is not None:
        entry["stream"] = int(stream_index)
    return entry
