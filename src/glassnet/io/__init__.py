"""Input/output: checkpoints in safetensors files (weights, optimizer and RNG state)."""

from glassnet.io.checkpoint import FORMAT, Checkpoint, load, read_checkpoint, save
from glassnet.io.safetensors_format import decode, encode, read_file

__all__ = [
    "FORMAT",
    "Checkpoint",
    "decode",
    "encode",
    "load",
    "read_checkpoint",
    "read_file",
    "save",
]
