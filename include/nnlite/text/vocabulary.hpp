// Token counting and the token <-> id vocabulary.
//
// Ids: 0 is <pad> (what padding fills in; nn::Embedding's padding_idx), 1 is <unk> (any
// token not in the vocabulary), then the kept tokens from 2 on, most frequent first; equal
// counts are ordered by the token's bytes ascending, so a vocabulary is a pure function of
// the counts, whatever order documents were counted in or how many threads counted them.
//
// File format (Vocabulary::save / load), UTF-8 text:
//   line 1:   "nnlite-vocab 1 <size>"        (format name, version, number of tokens)
//   then:     one token per line, in id order, "<token>\t<count>" — line k+2 holds id k;
//             the first two are <pad> and <unk> with count 0.
// A token never contains a newline or a tab (the tokenizer splits on whitespace); one that
// does is rejected when saving rather than written into a file that cannot be read back.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/io/file.hpp"

namespace nnlite::text {

namespace detail {

/// Open-addressing hash map from strings to dense ids 0..size()-1 (insertion order). It
/// looks strings up by string_view, so counting and encoding need no temporary std::string
/// per token (std::unordered_map<std::string, ...> cannot do that before C++20).
class StringIdMap {
  public:
    static constexpr std::int64_t npos = -1;

    std::size_t size() const { return strings_.size(); }
    const std::string& at(std::size_t id) const { return strings_[id]; }

    std::int64_t find(std::string_view key) const {
        if (slots_.empty()) return npos;
        const std::uint64_t h = hash(key);
        for (std::size_t s = h & mask_;; s = (s + 1) & mask_) {
            const std::uint32_t v = slots_[s];
            if (v == 0) return npos;
            if (hashes_[v - 1] == h && strings_[v - 1] == key) return v - 1;
        }
    }

    /// Id of `key`, inserting it with the next id when new; `inserted` says which.
    std::size_t insert(std::string_view key, bool& inserted) {
        if ((strings_.size() + 1) * 4 > slots_.size() * 3) grow();
        const std::uint64_t h = hash(key);
        std::size_t s = h & mask_;
        for (;; s = (s + 1) & mask_) {
            const std::uint32_t v = slots_[s];
            if (v == 0) break;
            if (hashes_[v - 1] == h && strings_[v - 1] == key) {
                inserted = false;
                return v - 1;
            }
        }
        strings_.emplace_back(key);
        hashes_.push_back(h);
        slots_[s] = static_cast<std::uint32_t>(strings_.size());
        inserted = true;
        return strings_.size() - 1;
    }

    /// FNV-1a with a final avalanche (tokens are short; this is fast and well spread).
    static std::uint64_t hash(std::string_view key) {
        std::uint64_t h = 0xcbf29ce484222325ULL;
        for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
    }

  private:
    void grow() {
        const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
        slots_.assign(capacity, 0);
        mask_ = capacity - 1;
        for (std::size_t id = 0; id < strings_.size(); ++id) {
            std::size_t s = hashes_[id] & mask_;
            while (slots_[s] != 0) s = (s + 1) & mask_;
            slots_[s] = static_cast<std::uint32_t>(id + 1);
        }
    }

    std::vector<std::string> strings_;
    std::vector<std::uint64_t> hashes_;
    std::vector<std::uint32_t> slots_;  // id + 1; 0 = empty
    std::size_t mask_ = 0;
};

}  // namespace detail

/// Counts of distinct tokens. Count per thread, then merge().
class TokenCounter {
  public:
    void add(std::string_view token, std::int64_t count = 1) {
        bool inserted = false;
        const std::size_t id = map_.insert(token, inserted);
        if (inserted)
            counts_.push_back(count);
        else
            counts_[id] += count;
        total_ += count;
    }
    void merge(const TokenCounter& other) {
        for (std::size_t i = 0; i < other.map_.size(); ++i) add(other.map_.at(i), other.counts_[i]);
    }
    /// Occurrences of `token` (0 when never seen).
    std::int64_t count(std::string_view token) const {
        const std::int64_t id = map_.find(token);
        return id < 0 ? 0 : counts_[static_cast<std::size_t>(id)];
    }
    /// Number of distinct tokens.
    std::size_t distinct() const { return map_.size(); }
    /// Number of tokens added (with multiplicity).
    std::int64_t total() const { return total_; }

    /// (token, count) pairs, most frequent first, ties by token ascending.
    std::vector<std::pair<std::string, std::int64_t>> most_common(
        std::size_t limit = static_cast<std::size_t>(-1)) const {
        std::vector<std::size_t> order(map_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        const auto before = [&](std::size_t a, std::size_t b) {
            if (counts_[a] != counts_[b]) return counts_[a] > counts_[b];
            return map_.at(a) < map_.at(b);
        };
        const std::size_t k = std::min(limit, order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k),
                          order.end(), before);
        std::vector<std::pair<std::string, std::int64_t>> out;
        out.reserve(k);
        for (std::size_t i = 0; i < k; ++i) out.emplace_back(map_.at(order[i]), counts_[order[i]]);
        return out;
    }

  private:
    detail::StringIdMap map_;
    std::vector<std::int64_t> counts_;
    std::int64_t total_ = 0;
};

class VocabularyOptions {
  public:
    /// Most tokens kept, not counting <pad> and <unk> (0 = no limit).
    VocabularyOptions& max_tokens(std::size_t n) {
        max_tokens_ = n;
        return *this;
    }
    /// Tokens seen fewer times than this are left out (map to <unk>).
    VocabularyOptions& min_frequency(std::int64_t n) {
        min_frequency_ = n;
        return *this;
    }
    std::size_t max_tokens() const { return max_tokens_; }
    std::int64_t min_frequency() const { return min_frequency_; }

  private:
    std::size_t max_tokens_ = 0;
    std::int64_t min_frequency_ = 1;
};

class Vocabulary {
  public:
    static constexpr std::int32_t pad_id = 0;
    static constexpr std::int32_t unk_id = 1;
    static constexpr const char* pad_token = "<pad>";
    static constexpr const char* unk_token = "<unk>";

    /// Only <pad> and <unk>.
    Vocabulary() {
        add_token(pad_token, 0);
        add_token(unk_token, 0);
    }

    static Vocabulary build(const TokenCounter& counts,
                            const VocabularyOptions& options = VocabularyOptions()) {
        Vocabulary v;
        const std::size_t limit =
            options.max_tokens() ? options.max_tokens() : static_cast<std::size_t>(-1);
        // Ask for a few more than `limit`: the specials, if present in the counts, are skipped.
        for (auto& [token, count] :
             counts.most_common(limit == static_cast<std::size_t>(-1) ? limit : limit + 2)) {
            if (v.size() - 2 >= limit || count < options.min_frequency()) break;
            if (token == pad_token || token == unk_token) continue;
            v.add_token(token, count);
        }
        return v;
    }

    /// From already tokenized documents (one token stream each).
    static Vocabulary build(const std::vector<std::vector<std::string>>& token_streams,
                            const VocabularyOptions& options = VocabularyOptions()) {
        TokenCounter counts;
        for (const auto& stream : token_streams)
            for (const auto& token : stream) counts.add(token);
        return build(counts, options);
    }

    /// Number of ids, <pad> and <unk> included.
    std::size_t size() const { return map_.size(); }
    bool contains(std::string_view token) const { return map_.find(token) >= 0; }
    /// Id of `token`, unk_id when it is not in the vocabulary.
    std::int32_t id(std::string_view token) const {
        const std::int64_t i = map_.find(token);
        return i < 0 ? unk_id : static_cast<std::int32_t>(i);
    }
    const std::string& token(std::int32_t id) const {
        check<IndexError>(id >= 0 && static_cast<std::size_t>(id) < size(),
                          "Vocabulary::token: id ", id, " out of range for a vocabulary of ",
                          size(), " ids");
        return map_.at(static_cast<std::size_t>(id));
    }
    /// Training-corpus count recorded for `id` (0 for the specials).
    std::int64_t frequency(std::int32_t id) const {
        token(id);  // bounds check
        return counts_[static_cast<std::size_t>(id)];
    }

    std::vector<std::int32_t> encode(const std::vector<std::string>& tokens) const {
        std::vector<std::int32_t> ids;
        ids.reserve(tokens.size());
        for (const auto& t : tokens) ids.push_back(id(t));
        return ids;
    }
    std::vector<std::string> decode(const std::vector<std::int32_t>& ids) const {
        std::vector<std::string> tokens;
        tokens.reserve(ids.size());
        for (auto i : ids) tokens.push_back(token(i));
        return tokens;
    }
    /// Tokens joined by single spaces, <pad> left out (for printing a padded row).
    std::string decode_to_string(const std::vector<std::int32_t>& ids) const {
        std::string out;
        for (auto i : ids) {
            if (i == pad_id) continue;
            if (!out.empty()) out.push_back(' ');
            out += token(i);
        }
        return out;
    }

    void save(const std::string& path) const {
        for (std::size_t i = 0; i < size(); ++i) {
            const std::string& t = map_.at(i);
            check<ValueError>(t.find_first_of("\t\n\r") == std::string::npos,
                              "Vocabulary::save: token ", i,
                              " contains a tab or newline and cannot be written to ", path);
        }
        // Replaced atomically (io::write_file_atomically: fsync'ed temporary file, rename,
        // directory fsync): a crash mid-write never leaves a truncated vocabulary next to a
        // model that needs it.
        std::string text = "nnlite-vocab 1 " + std::to_string(size()) + "\n";
        for (std::size_t i = 0; i < size(); ++i)
            text += map_.at(i) + '\t' + std::to_string(counts_[i]) + '\n';
        io::write_file_atomically(path, text);
    }

    /// Largest file load() reads by default: a vocabulary of a million tokens is ~20 MB.
    static constexpr std::uint64_t max_file_bytes = std::uint64_t{256} << 20;

    /// Reads a file written by save(). The file is untrusted: it must be a regular file (a
    /// FIFO or device is refused at once) of at most max_bytes, and every line is checked.
    static Vocabulary load(const std::string& path, std::uint64_t max_bytes = max_file_bytes) {
        return parse(io::read_file(path, max_bytes), path);
    }

    /// Parses the text of a vocabulary file; `source` names it in errors (FormatError with
    /// source:line for anything that is not the format above).
    static Vocabulary parse(std::string_view text, const std::string& source) {
        const std::string& path = source;
        std::size_t pos = 0;
        auto next_line = [&](std::string& line) {
            if (pos >= text.size()) return false;
            std::size_t end = text.find('\n', pos);
            if (end == std::string_view::npos) end = text.size();
            line.assign(text.substr(pos, end - pos));
            pos = end + 1;
            strip_cr(line);
            return true;
        };
        std::string line;
        check<FormatError>(next_line(line), path,
                           ":1: empty file, expected the header \"nnlite-vocab 1 <size>\"");
        const std::string magic = "nnlite-vocab 1 ";
        check<FormatError>(line.compare(0, magic.size(), magic) == 0, path,
                           ":1: expected the header \"nnlite-vocab 1 <size>\", found \"",
                           line.substr(0, 60), "\"");
        std::size_t declared = 0;
        check<FormatError>(parse_count(line.substr(magic.size()), declared) && declared >= 2, path,
                           ":1: bad token count \"", line.substr(magic.size()),
                           "\" in the header (expected an integer >= 2)");
        Vocabulary v;
        v.map_ = detail::StringIdMap();
        v.counts_.clear();
        std::size_t line_no = 1;
        while (next_line(line)) {
            ++line_no;
            const std::size_t tab = line.rfind('\t');
            check<FormatError>(tab != std::string::npos && tab > 0, path, ":", line_no,
                               ": expected \"<token>\\t<count>\", found \"", line.substr(0, 60),
                               "\"");
            std::size_t count = 0;
            check<FormatError>(parse_count(line.substr(tab + 1), count), path, ":", line_no,
                               ": bad count \"", line.substr(tab + 1, 60), "\"");
            const std::string_view token(line.data(), tab);
            const std::size_t id = line_no - 2;
            check<FormatError>(id != 0 || token == pad_token, path, ":", line_no,
                               ": expected <pad> as id 0, found \"", token.substr(0, 60), "\"");
            check<FormatError>(id != 1 || token == unk_token, path, ":", line_no,
                               ": expected <unk> as id 1, found \"", token.substr(0, 60), "\"");
            bool inserted = false;
            v.map_.insert(token, inserted);
            check<FormatError>(inserted, path, ":", line_no, ": duplicate token \"",
                               token.substr(0, 60), "\"");
            v.counts_.push_back(static_cast<std::int64_t>(count));
        }
        check<FormatError>(v.size() == declared, path, ": header declares ", declared,
                           " tokens but the file holds ", v.size());
        return v;
    }

    friend bool operator==(const Vocabulary& a, const Vocabulary& b) {
        if (a.size() != b.size() || a.counts_ != b.counts_) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a.map_.at(i) != b.map_.at(i)) return false;
        return true;
    }
    friend bool operator!=(const Vocabulary& a, const Vocabulary& b) { return !(a == b); }

  private:
    void add_token(std::string_view token, std::int64_t count) {
        bool inserted = false;
        map_.insert(token, inserted);
        counts_.push_back(count);
    }
    static void strip_cr(std::string& line) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
    }
    static bool parse_count(const std::string& s, std::size_t& value) {
        if (s.empty() || s.size() > 18) return false;
        value = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + static_cast<std::size_t>(c - '0');
        }
        return true;
    }

    detail::StringIdMap map_;
    std::vector<std::int64_t> counts_;
};

}  // namespace nnlite::text
