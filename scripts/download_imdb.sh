#!/usr/bin/env bash
# Downloads the original IMDB sentiment archive (aclImdb_v1.tar.gz, about 84 MB, Maas et al.,
# ACL 2011) from the Stanford AI Lab and checks its sha256. nnlite reads the
# archive directly (no unpacking needed): pass the printed path to --data, or export it as
# NNLITE_IMDB_DATA.
#
#   scripts/download_imdb.sh [DIR]      (default DIR: data/imdb under the repository)
#
# Re-running is cheap: a verified archive already in DIR is kept; an interrupted download
# resumes from its .part file. A file whose checksum does not match is never left under
# the final name. Needs curl or wget, and sha256sum or shasum.
#
# Environment:
#   IMDB_URL   another location of the same file (a mirror); the checksum still applies.
set -Eeuo pipefail

readonly default_url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
readonly expected_sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
readonly name="aclImdb_v1.tar.gz"

die() {
    echo "download_imdb.sh: $*" >&2
    exit 1
}

case "${1:-}" in
    -h | --help)
        sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
esac
[[ $# -le 1 ]] || die "expected at most one argument (the target directory), got $#"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$repo/data/imdb}
url=${IMDB_URL:-$default_url}

mkdir -p "$dir" || die "cannot create directory $dir"
dir=$(cd "$dir" && pwd)
target="$dir/$name"
part="$target.part"

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        die "neither sha256sum nor shasum is installed: cannot verify the download"
    fi
}

report() {
    echo "IMDB archive: $target"
    echo "use it with:  --data $target"
    echo "         or:  export NNLITE_IMDB_DATA=$target"
}

if [[ -f "$target" ]]; then
    if [[ "$(sha256_of "$target")" == "$expected_sha256" ]]; then
        echo "already downloaded and verified."
        report
        exit 0
    fi
    echo "existing $target does not match the expected sha256; downloading again." >&2
    mv -f "$target" "$target.bad"
fi

fetch() {  # fetch RESUME(yes|no): downloads $url into $part
    if command -v curl >/dev/null 2>&1; then
        # --fail turns HTTP errors (404, 503) into an exit code instead of saving the page.
        local resume=()
        [[ $1 == yes ]] && resume=(--continue-at -)
        curl --fail --location --retry 3 --retry-delay 5 --connect-timeout 30 \
            "${resume[@]}" --output "$part" "$url"
    elif command -v wget >/dev/null 2>&1; then
        local resume=()
        [[ $1 == yes ]] && resume=(--continue)
        wget "${resume[@]}" --tries=3 --timeout=30 --output-document="$part" "$url"
    else
        die "neither curl nor wget is installed (apt-get install curl)"
    fi
}

echo "downloading $url"
echo "        to $part"
if ! fetch yes; then
    # A stale or complete .part makes a resumed request fail (HTTP 416): start over once.
    if [[ -f "$part" ]]; then
        echo "resuming failed; downloading from the start." >&2
        rm -f "$part"
        fetch no || die "could not download $url (network down, or the URL moved: set IMDB_URL)"
    else
        die "could not download $url (network down, or the URL moved: set IMDB_URL)"
    fi
fi

actual=$(sha256_of "$part")
if [[ "$actual" != "$expected_sha256" ]]; then
    mv -f "$part" "$target.bad"
    die "sha256 mismatch for the download (kept as $target.bad):
  expected $expected_sha256
  got      $actual
A truncated or altered file, or a different file at $url."
fi
mv -f "$part" "$target"
echo "verified sha256 $expected_sha256"
report
