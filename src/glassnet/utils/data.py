"""``glassnet.utils.data``: PyTorch's module path for datasets, samplers and the DataLoader
(``from glassnet.utils.data import DataLoader, Dataset``). The code lives in
:mod:`glassnet.data`."""

from glassnet.data.collate import default_convert
from glassnet.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from glassnet.data.iterable import ChainDataset, IterableDataset, get_worker_info
from glassnet.data.loader import DataLoader, DistributedSampler, default_collate
from glassnet.data.sampler import (
    BatchSampler,
    Generator,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "Generator",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
