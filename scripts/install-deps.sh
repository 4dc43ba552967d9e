#!/usr/bin/env bash
# Installs the Debian packages nnlite needs to build and test (Debian 12 "bookworm").
# Only what is missing is installed; with nothing missing it touches nothing (no apt-get
# update, no root needed). Runs as root, or through sudo when that exists.
set -euo pipefail

packages=(
    cmake ninja-build g++ pkg-config
    libxtensor-dev libxtensor-blas-dev libopenblas-dev
    doctest-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libarchive-dev
    curl  # imdb_example's serve tests
    libopenmpi-dev openmpi-bin  # nnlite::distributed (data-parallel training) and its tests
)
# The browser test of imdb_example's page is opt-in: Chromium is a large install.
if [[ ${NNLITE_BROWSER_TESTS:-0} == 1 ]]; then
    packages+=(chromium)
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: missing packages (${missing[*]}) and not root, no sudo" >&2
    exit 1
fi
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
