"""Input/output: checkpoints in safetensors files (weights, optimizer and RNG state)."""

from glassnet.io.checkpoint import FORMAT, Checkpoint, load, save
from glassnet.io.safetensors_format import decode, encode

__all__ = ["FORMAT", "Checkpoint", "decode", "encode", "load", "save"]
