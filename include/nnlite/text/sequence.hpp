// Truncating token-id sequences and padding a batch of them into a [B, T] int32 tensor plus
// the true lengths, the input an Embedding + variable-length LSTM takes.
//
// Truncation keeps at most max_length ids:
//   head       the first max_length           (the opening of a review)
//   tail       the last max_length            (its conclusion, often the verdict)
//   head_tail  the first round(max_length * head_fraction) and the rest from the end;
//              "How to Fine-Tune BERT for Text Classification?" (Sun et al. 2019) found
//              head+tail best on IMDB. head_fraction 1 is `head`, 0 is `tail`.
// Padding is on the right: row b holds its ids in [0, lengths[b]) and pad_id after, so the
// forward direction's last real step is lengths[b] - 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::text {

enum class Truncation { head, tail, head_tail };

/// "head", "tail" or "head_tail".
inline const char* to_string(Truncation t) {
    switch (t) {
        case Truncation::head:
            return "head";
        case Truncation::tail:
            return "tail";
        case Truncation::head_tail:
            return "head_tail";
    }
    return "head";
}

/// The Truncation named "head", "tail" or "head_tail"; ValueError naming anything else.
inline Truncation parse_truncation(std::string_view name) {
    for (auto t : {Truncation::head, Truncation::tail, Truncation::head_tail})
        if (name == to_string(t)) return t;
    throw ValueError("truncation must be head, tail or head_tail, got '" + std::string(name) + "'");
}

class SequenceOptions {
  public:
    /// Longest kept sequence (0 = no limit).
    SequenceOptions& max_length(std::size_t n) {
        max_length_ = n;
        return *this;
    }
    SequenceOptions& truncation(Truncation t) {
        truncation_ = t;
        return *this;
    }
    /// Share of max_length taken from the head under Truncation::head_tail, in [0, 1].
    SequenceOptions& head_fraction(double f) {
        check<ValueError>(f >= 0.0 && f <= 1.0,
                          "SequenceOptions::head_fraction: expected a value in [0, 1], got ", f);
        head_fraction_ = f;
        return *this;
    }
    /// Id written into padded positions (Vocabulary::pad_id).
    SequenceOptions& pad_id(std::int32_t id) {
        pad_id_ = id;
        return *this;
    }
    /// Pad every batch to exactly max_length columns instead of its longest row.
    SequenceOptions& pad_to_max_length(bool on) {
        pad_to_max_length_ = on;
        return *this;
    }
    /// Shortest reported length. The default 1 gives a sequence with no tokens one <pad>
    /// step, so every row has a well-defined last state (an LSTM over zero steps has none,
    /// and mean pooling over zero steps divides by zero); 0 reports empty rows as 0.
    SequenceOptions& min_length(std::size_t n) {
        min_length_ = n;
        return *this;
    }

    std::size_t max_length() const { return max_length_; }
    Truncation truncation() const { return truncation_; }
    double head_fraction() const { return head_fraction_; }
    std::int32_t pad_id() const { return pad_id_; }
    bool pad_to_max_length() const { return pad_to_max_length_; }
    std::size_t min_length() const { return min_length_; }

  private:
    std::size_t max_length_ = 0;
    Truncation truncation_ = Truncation::head;
    double head_fraction_ = 0.5;
    std::int32_t pad_id_ = 0;
    bool pad_to_max_length_ = false;
    std::size_t min_length_ = 1;
};

/// Which part of a sequence of n ids truncation keeps: [0, head) and [tail_begin, n).
struct KeptSpan {
    std::size_t head;
    std::size_t tail_begin;
    std::size_t n;
    std::size_t length() const { return head + (n - tail_begin); }
};

inline KeptSpan kept_span(std::size_t n, const SequenceOptions& opt) {
    const std::size_t limit = opt.max_length();
    if (limit == 0 || n <= limit) return {n, n, n};
    switch (opt.truncation()) {
        case Truncation::head:
            return {limit, n, n};
        case Truncation::tail:
            return {0, n - limit, n};
        case Truncation::head_tail: {
            const auto head = static_cast<std::size_t>(
                std::llround(static_cast<double>(limit) * opt.head_fraction()));
            const std::size_t h = std::min(head, limit);
            return {h, n - (limit - h), n};
        }
    }
    return {n, n, n};
}

/// The ids truncation keeps, in order.
template <class Id>
std::vector<Id> truncate(const std::vector<Id>& ids, const SequenceOptions& opt) {
    const KeptSpan k = kept_span(ids.size(), opt);
    std::vector<Id> out(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k.head));
    out.insert(out.end(), ids.begin() + static_cast<std::ptrdiff_t>(k.tail_begin), ids.end());
    return out;
}

/// A padded batch: ids [B, T] (int32, right-padded with pad_id) and lengths [B] (int64,
/// like PyTorch's pack_padded_sequence takes them).
struct PaddedBatch {
    Tensor<std::int32_t> ids;
    Tensor<std::int64_t> lengths;
};

/// Truncates and pads sequences[indices[b]] into row b.
template <class Id>
PaddedBatch pad_batch(const std::vector<std::vector<Id>>& sequences,
                      const std::vector<std::size_t>& indices,
                      const SequenceOptions& opt = SequenceOptions()) {
    check<ValueError>(!indices.empty(), "pad_batch: empty batch (no indices)");
    check<ValueError>(!opt.pad_to_max_length() || opt.max_length() > 0,
                      "pad_batch: pad_to_max_length needs max_length > 0");
    std::vector<KeptSpan> spans;
    spans.reserve(indices.size());
    std::size_t longest = 0;
    for (std::size_t idx : indices) {
        check<IndexError>(idx < sequences.size(), "pad_batch: index ", idx, " out of range for ",
                          sequences.size(), " sequences");
        spans.push_back(kept_span(sequences[idx].size(), opt));
        longest = std::max(longest, std::max(spans.back().length(), opt.min_length()));
    }
    const std::size_t cols = opt.pad_to_max_length() ? std::max(opt.max_length(), opt.min_length())
                                                     : std::max<std::size_t>(longest, 1);
    PaddedBatch batch{Tensor<std::int32_t>::full({indices.size(), cols}, opt.pad_id()),
                      Tensor<std::int64_t>::zeros({indices.size()})};
    std::int32_t* out = batch.ids.data();
    std::int64_t* lengths = batch.lengths.data();
    for (std::size_t b = 0; b < indices.size(); ++b) {
        const auto& seq = sequences[indices[b]];
        const KeptSpan& k = spans[b];
        std::int32_t* row = out + b * cols;
        for (std::size_t t = 0; t < k.head; ++t) row[t] = static_cast<std::int32_t>(seq[t]);
        for (std::size_t t = k.tail_begin; t < k.n; ++t)
            row[k.head + t - k.tail_begin] = static_cast<std::int32_t>(seq[t]);
        lengths[b] = static_cast<std::int64_t>(std::max(k.length(), opt.min_length()));
    }
    return batch;
}

/// Truncates and pads all sequences, in order.
template <class Id>
PaddedBatch pad_batch(const std::vector<std::vector<Id>>& sequences,
                      const SequenceOptions& opt = SequenceOptions()) {
    std::vector<std::size_t> all(sequences.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    return pad_batch(sequences, all, opt);
}

}  // namespace nnlite::text
