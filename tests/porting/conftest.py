# The programs and the PyTorch recording scripts are not test modules: the programs run
# inside test_ported_programs.py (their import of glassnet.nn.functional etc. is the point),
# and the record_*.py scripts import torch, which the test suite never does.
collect_ignore_glob = ["programs/*", "record_*.py"]
