"""``glassnet.utils.data``: PyTorch's module path for datasets, samplers and the DataLoader
(``from glassnet.utils.data import DataLoader, Dataset``). The code lives in
:mod:`glassnet.data`."""

from glassnet.data.dataset import Dataset, Subset, TensorDataset, random_split
from glassnet.data.loader import DataLoader, DistributedSampler, default_collate
from glassnet.data.sampler import (
    BatchSampler,
    Generator,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = [
    "BatchSampler",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "Generator",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "random_split",
]
