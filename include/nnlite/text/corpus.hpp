// Whole-corpus passes, parallel over documents: count tokens (to build a vocabulary) and
// encode documents to id sequences. Documents are reached through an accessor
// `text_at(i) -> std::string_view`, so any container of reviews works without copying text.
//
// Each thread owns a normalisation buffer and (for counting) a TokenCounter that are merged
// at the end; tokens are string_views into that buffer, so the inner loop allocates nothing
// per character or per token. The result does not depend on the number of threads: counts
// are sums, and Vocabulary::build orders them deterministically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nnlite/core/threads.hpp"
#include "nnlite/text/tokenizer.hpp"
#include "nnlite/text/vocabulary.hpp"

namespace nnlite::text {

namespace detail {

inline constexpr std::size_t documents_per_task = 64;

}  // namespace detail

/// Token counts over documents 0..n-1.
template <class TextAt>
TokenCounter count_tokens(std::size_t n, TextAt&& text_at, const Tokenizer& tokenizer) {
    std::deque<TokenCounter> partial;  // one per worker; deque keeps references stable
    std::mutex partial_mutex;
    parallel_for(n, detail::documents_per_task, [&](std::size_t b, std::size_t e) {
        TokenCounter* counter;
        {
            std::lock_guard<std::mutex> lock(partial_mutex);
            counter = &partial.emplace_back();
        }
        std::string scratch;
        for (std::size_t i = b; i < e; ++i)
            tokenizer.for_each_token(text_at(i), scratch,
                                     [&](std::string_view t) { counter->add(t); });
    });
    TokenCounter total;
    for (const auto& p : partial) total.merge(p);
    return total;
}

inline TokenCounter count_tokens(const std::vector<std::string>& documents,
                                 const Tokenizer& tokenizer) {
    return count_tokens(
        documents.size(), [&](std::size_t i) { return std::string_view(documents[i]); }, tokenizer);
}

/// Id sequences of documents 0..n-1 (unknown tokens are Vocabulary::unk_id).
template <class TextAt>
std::vector<std::vector<std::int32_t>> encode_documents(std::size_t n, TextAt&& text_at,
                                                        const Tokenizer& tokenizer,
                                                        const Vocabulary& vocabulary) {
    std::vector<std::vector<std::int32_t>> encoded(n);
    parallel_for(n, detail::documents_per_task, [&](std::size_t b, std::size_t e) {
        std::string scratch;
        std::vector<std::int32_t> ids;
        for (std::size_t i = b; i < e; ++i) {
            ids.clear();
            tokenizer.for_each_token(text_at(i), scratch,
                                     [&](std::string_view t) { ids.push_back(vocabulary.id(t)); });
            encoded[i].assign(ids.begin(), ids.end());  // exact-size copy, no slack capacity
        }
    });
    return encoded;
}

inline std::vector<std::vector<std::int32_t>> encode_documents(
    const std::vector<std::string>& documents, const Tokenizer& tokenizer,
    const Vocabulary& vocabulary) {
    return encode_documents(
        documents.size(), [&](std::size_t i) { return std::string_view(documents[i]); }, tokenizer,
        vocabulary);
}

}  // namespace nnlite::text
