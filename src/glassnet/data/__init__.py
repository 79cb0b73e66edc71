"""The data layer: datasets, the DataLoader, transforms and verified downloads (NumPy only)."""

from glassnet.data.dataset import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from glassnet.data.datasets import (
    DATASETS,
    CharVocab,
    Mnist1dConfig,
    char_windows,
    load_cifar10,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_mnist1d,
    load_shakespeare,
)
from glassnet.data.download import ChecksumError, DownloadError, cache_dir, download
from glassnet.data.loader import DataLoader, DistributedSampler, default_collate
from glassnet.data.transforms import (
    Compose,
    Flatten,
    GaussianNoise,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Standardize,
    one_hot,
)

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "CharVocab",
    "ChecksumError",
    "Compose",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "DownloadError",
    "Flatten",
    "GaussianNoise",
    "Mnist1dConfig",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Standardize",
    "Subset",
    "TensorDataset",
    "cache_dir",
    "char_windows",
    "default_collate",
    "download",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist1d",
    "load_shakespeare",
    "one_hot",
    "random_split",
]
