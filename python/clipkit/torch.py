"""`clipkit.torch.ClipDataset`: ClipKit's loader as a torch IterableDataset.

    ds = clipkit.torch.ClipDataset("train.csv", frames=8, interval=8, crop=224, batch=8)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0, pin_memory=True)
    for epoch in range(epochs):
        ds.set_epoch(epoch)
        for clips, labels in loader: ...

Batches are made by ClipKit's own threads, so the DataLoader needs no workers
(`num_workers=0`; worker processes would fork ClipKit's threads away). Under
torch.distributed, rank and world size come from the process group unless given.
"""
import torch
import torch.utils.data

from .loader import ClipLoader


class ClipDataset(torch.utils.data.IterableDataset):
    def __init__(self, manifest, *, rank=None, world_size=None, **options):
        super().__init__()
        if rank is None or world_size is None:
            distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
            rank = rank if rank is not None else (torch.distributed.get_rank() if distributed else 0)
            world_size = world_size if world_size is not None else (torch.distributed.get_world_size() if distributed else 1)
        self.loader = ClipLoader(manifest, rank=rank, world_size=world_size, **options)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)
        self.loader.set_epoch(epoch)

    def state_dict(self):
        """The loader's place in its epoch (see `ClipLoader.state_dict`)."""
        return self.loader.state_dict()

    def load_state_dict(self, state):
        """Continues mid-epoch from `state`: the next iteration gives the batches not yet handed out."""
        self.loader.load_state_dict(state)
        self.epoch = self.loader.epoch

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None and info.num_workers > 0:
            raise RuntimeError("clipkit.torch.ClipDataset loads with ClipKit's own threads: use DataLoader(num_workers=0)")
        self.loader.set_epoch(self.epoch)
        return iter(self.loader)
