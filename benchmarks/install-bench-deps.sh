#!/bin/sh
# Optional dependencies of the side-by-side benchmark (benchmarks/compare_pytorch.py), on
# Debian/Ubuntu: oneDNN (its LSTM primitive: benchmarks/onednn_lstm_benchmark.cpp) and
# PyTorch (python3-torch). The library, its tests and CI need neither.
#   sudo benchmarks/install-bench-deps.sh
#   cmake --preset release -B build/bench -DNNLITE_BUILD_BENCHMARKS=ON
#   cmake --build build/bench --target lstm_benchmark onednn_lstm_benchmark --parallel 2
set -eu
apt-get install -y libdnnl-dev
apt-get install -y python3-torch || echo "python3-torch not installed: the PyTorch column will be skipped"
