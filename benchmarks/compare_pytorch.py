#!/usr/bin/python3
"""The old name of benchmarks/compare.py (nnlite vs oneDNN vs PyTorch); same arguments."""
import os
import runpy
import sys

if __name__ == "__main__":
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare.py")
    sys.argv[0] = target
    runpy.run_path(target, run_name="__main__")
