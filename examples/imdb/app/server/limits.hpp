// Cutting an over-long review before tokenizing it: the model keeps at most max_length tokens
// (head, tail or head + tail, config.json), so the server tokenizes only a window of bytes
// from the same ends. Cuts fall on whitespace where there is any, never inside a UTF-8
// character.
#pragma once

#include <cstddef>
#include <nnlite/text/sequence.hpp>
#include <string>
#include <string_view>

namespace imdb::server {

/// `text` itself when it has at most max_bytes bytes; otherwise its first max_bytes bytes
/// ("head"), its last ("tail"), or head_fraction of them from the start and the rest from the
/// end joined by a space ("head_tail").
std::string cut_text(std::string_view text, std::size_t max_bytes,
                     nnlite::text::Truncation truncation, double head_fraction);

}  // namespace imdb::server
