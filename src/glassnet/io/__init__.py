"""Input/output: checkpoints in safetensors files (weights, optimizer and RNG state)."""

from glassnet.io.checkpoint import FORMAT, Checkpoint, read_checkpoint
from glassnet.io.checkpoint import load as load_checkpoint
from glassnet.io.checkpoint import save as save_checkpoint
from glassnet.io.safetensors_format import decode, encode, read_file
from glassnet.io.serialization import load, save

__all__ = [
    "FORMAT",
    "Checkpoint",
    "decode",
    "encode",
    "load",
    "load_checkpoint",
    "read_checkpoint",
    "read_file",
    "save",
    "save_checkpoint",
]
