"""The lowercase functional API (PyTorch's ``torch.nn.functional``), re-exported from ops."""
