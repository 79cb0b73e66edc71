"""Datasets: bundled (digits, shakespeare), generated (mnist1d) and downloaded on first use."""

from glassnet.data.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10, read_cifar10
from glassnet.data.datasets.digits import load_digits
from glassnet.data.datasets.mnist import (
    FASHION_MNIST_CLASSES,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)
from glassnet.data.datasets.mnist1d import Mnist1dConfig, load_mnist1d, make_mnist1d
from glassnet.data.datasets.registry import DATASETS, load_dataset
from glassnet.data.datasets.shakespeare import CharVocab, char_windows, load_shakespeare

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "CharVocab",
    "Mnist1dConfig",
    "char_windows",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist1d",
    "load_shakespeare",
    "make_mnist1d",
    "read_cifar10",
    "read_idx",
]
