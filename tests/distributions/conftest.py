# record_*.py import torch to write torch_values.json once; the test suite never imports torch
collect_ignore_glob = ["record_*.py"]
