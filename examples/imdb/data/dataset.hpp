// Reading the IMDB movie-review sentiment data (Maas et al., ACL 2011) in the three forms it
// is passed around in, into one in-memory Dataset.
//
//   directory  aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt, the unpacked original.
//              `path` may be the aclImdb folder itself or a folder that holds it.
//   archive    aclImdb_v1.tar.gz (or any tar/tar.gz/tar.bz2/tar.xz/zip with the same layout),
//              read with libarchive without unpacking. Entries may sit under a top folder
//              "aclImdb/" (the original) or at the root; train/unsup/ (50k unlabeled
//              reviews) and the other files (imdb.vocab, *.feat, urls_*.txt, README) are
//              skipped. This is also the format of aclImdb_v1_labeled.tar.gz.
//   csv        the common 50k-row "IMDB Dataset.csv": a header row naming the columns
//              `review` and `sentiment` (any order, other columns ignored), RFC 4180
//              quoting (embedded commas, doubled quotes, newlines inside quotes, CRLF or
//              LF), labels `positive`/`negative` (case-insensitive). A CSV has no split, so
//              a seeded stratified train/test split is made (default 50/50, like the
//              original) and described in Dataset::notes.
//
// Every review keeps its text, label (1 positive, 0 negative), star rating (1-10, parsed
// from <id>_<rating>.txt; -1 when unknown, as for CSV rows) and where it came from. Reviews
// of a split are ordered negative first, then positive, each by id, so the directory and
// the archive give identical datasets.
//
// Policies for imperfect input (the real data has none of these):
//  - an empty (or whitespace-only) review is skipped and counted in Dataset::skipped_empty;
//    its source is listed in Dataset::skipped_sources, and the notes say so;
//  - malformed UTF-8 is repaired (each malformed sequence becomes U+FFFD) and counted in
//    Dataset::repaired_utf8, so every Review::text is well-formed UTF-8;
//  - a review longer than LoadOptions::max_review_bytes (default 16 MiB) is an error:
//    long reviews load fine, truncation happens later at tokenisation; the limit only stops
//    a wrong file from being read whole into memory.
// Missing paths, unreadable files, archives or folders without the expected layout,
// non-archives, and CSVs with a bad header, label, field count or unterminated quote are
// nnlite::IoError / nnlite::FormatError naming the file (and the line for a CSV).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace imdb {

enum class Format { directory, archive, csv };

/// "directory", "archive" or "csv".
const char* to_string(Format f);

struct Review {
    std::string text;
    int label = 0;         // 1 positive, 0 negative
    int rating = -1;       // IMDB stars 1..10, -1 when the source does not say
    long id = -1;          // <id> of <id>_<rating>.txt, or the CSV data row number (0-based)
    std::string source;    // file path, "archive:entry", or the CSV path
    std::size_t line = 0;  // CSV line where the record starts (1-based); 0 otherwise

    /// "path", "archive:entry" or "file.csv:LINE": for messages.
    std::string where() const;
};

struct LoadOptions {
    /// Seed of the stratified train/test split of a CSV.
    std::uint64_t seed = 42;
    /// Share of each class a CSV puts into TEST.
    double csv_test_fraction = 0.5;
    /// A review longer than this is a FormatError (0 = no limit).
    std::size_t max_review_bytes = std::size_t{16} << 20;
};

struct Dataset {
    std::vector<Review> train;
    std::vector<Review> validation;  // empty until split_validation()
    std::vector<Review> test;
    Format format = Format::directory;
    std::string path;
    std::size_t skipped_empty = 0;
    std::vector<std::string> skipped_sources;
    std::size_t repaired_utf8 = 0;
    /// What was done to the data on the way in (split made, reviews skipped or repaired),
    /// one sentence per line, for a program to print.
    std::vector<std::string> notes;

    /// Number of reviews with `label` in `split`.
    static std::size_t count_label(const std::vector<Review>& split, int label);
    /// "train 22500 (11250 pos / 11250 neg), validation 2500 (...), test 25000 (...)".
    std::string summary() const;
};

/// Which of the three forms `path` is: a directory; a file starting with a gzip, bzip2,
/// xz or zip signature or holding a tar header; or a file whose first line names the
/// review and sentiment columns. IoError when the path does not exist or cannot be read,
/// FormatError when it is none of the three.
Format detect_format(const std::string& path);

/// Reads `path` in whichever form detect_format finds.
Dataset load(const std::string& path, const LoadOptions& options = LoadOptions());
Dataset load_directory(const std::string& path, const LoadOptions& options = LoadOptions());
Dataset load_archive(const std::string& path, const LoadOptions& options = LoadOptions());
Dataset load_csv(const std::string& path, const LoadOptions& options = LoadOptions());
/// The same readers over bytes in memory (`name` stands for the path in errors and
/// sources): what the fuzzers drive, and what a program with the data in memory calls.
Dataset load_archive_memory(const void* bytes, std::size_t size, const std::string& name,
                            const LoadOptions& options = LoadOptions());
Dataset load_csv_text(const std::string& content, const std::string& name,
                      const LoadOptions& options = LoadOptions());

/// Seeded stratified split of 0..labels.size()-1: of each label's items, round(fraction *
/// count) chosen uniformly at random go to `second`, the rest to `first`; both lists are
/// in increasing index order. The same labels and seed always give the same split.
struct IndexSplit {
    std::vector<std::size_t> first;
    std::vector<std::size_t> second;
};
IndexSplit stratified_split(const std::vector<int>& labels, double fraction, std::uint64_t seed);

/// Moves a seeded stratified `fraction` of TRAIN (default 10%) into Dataset::validation,
/// for model selection, early stopping and LR scheduling; TEST is never touched. Calling
/// it again first returns the previous validation reviews to TRAIN, in their order.
void split_validation(Dataset& data, double fraction = 0.1, std::uint64_t seed = 42);

/// Where the IMDB data is when no --data names it, the one search order every tool uses
/// (imdb_example, `imdb_example data-path` for scripts/imdb.sh, the real-data test):
///   1. $NNLITE_IMDB_DATA, when set and not empty (returned even if it does not exist, so
///      that the error names it);
///   2. <repo>/data/imdb/aclImdb_v1.tar.gz, then <repo>/data/imdb/aclImdb (what
///      scripts/download_imdb.sh leaves);
///   3. <repo>/../shared/data/imdb/aclImdb_v1_labeled.tar.gz (our machines' copy);
/// <repo> being the source tree this program was built from. "" when none exists.
std::string default_data_path();

}  // namespace imdb
