// Text pipeline: UTF-8 handling, normalisation, tokenizer, vocabulary, truncation/padding,
// length-bucketed batching and the parallel corpus passes.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nnlite/text/batching.hpp>
#include <nnlite/text/corpus.hpp>
#include <nnlite/text/normalize.hpp>
#include <nnlite/text/sequence.hpp>
#include <nnlite/text/tokenizer.hpp>
#include <nnlite/text/utf8.hpp>
#include <nnlite/text/vocabulary.hpp>
#include <set>
#include <string>
#include <vector>

using namespace nnlite;
using namespace nnlite::text;
using Tokens = std::vector<std::string>;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

std::filesystem::path temp_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() /
               ("nnlite_test_text_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

void write_file(const std::filesystem::path& p, const std::string& content) {
    std::ofstream(p, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("decode_utf8 reads whole code points and flags maximal ill-formed subparts") {
    const std::string euro = "\xE2\x82\xAC";
    auto d = decode_utf8(euro, 0);
    CHECK(d.valid);
    CHECK(d.code_point == 0x20AC);
    CHECK(d.length == 3);
    d = decode_utf8("\xF0\x9F\x98\x80", 0);
    CHECK((d.valid && d.code_point == 0x1F600 && d.length == 4));

    SUBCASE("truncated sequence is one error covering its bytes") {
        d = decode_utf8("\xE2\x82!", 0);
        CHECK(!d.valid);
        CHECK(d.length == 2);
        CHECK(d.code_point == replacement_character);
    }
    SUBCASE("overlong, surrogate and out-of-range forms are rejected") {
        CHECK(!decode_utf8("\xC0\xAF", 0).valid);
        CHECK(!decode_utf8("\xE0\x80\xAF", 0).valid);
        CHECK(!decode_utf8("\xED\xA0\x80", 0).valid);
        CHECK(!decode_utf8("\xF4\x90\x80\x80", 0).valid);
        CHECK(!decode_utf8("\x80", 0).valid);
        CHECK(!decode_utf8("\xFF", 0).valid);
    }
    SUBCASE("repair replaces each malformed subpart with one U+FFFD") {
        CHECK(repair_utf8("a\xFF"
                          "b") == "a" + fffd + "b");
        CHECK(repair_utf8("\xE2\x82"
                          "x") == fffd + "x");
        CHECK(repair_utf8("\xED\xA0\x80") == fffd + fffd + fffd);  // WHATWG: 3 errors
        CHECK(repair_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
        CHECK(count_invalid_utf8("ok\xFF\xFE ok \xC3") == 3);
        CHECK(is_valid_utf8("plain ascii text, longer than eight bytes"));
        CHECK(find_invalid_utf8("0123456789abcdef\x80") == 16);
        CHECK(utf8_length("na\xC3\xAFve") == 5);
    }
    SUBCASE("append_utf8 encodes 1 to 4 bytes and refuses surrogates") {
        std::string s;
        append_utf8(s, 'A');
        append_utf8(s, 0xE9);
        append_utf8(s, 0x20AC);
        append_utf8(s, 0x1F600);
        CHECK(s == "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
        std::string t;
        append_utf8(t, 0xD800);
        CHECK(t == fffd);
    }
}

TEST_CASE("normalize_text strips tags, decodes entities, lowercases ASCII only") {
    CHECK(normalize_text("Great movie!<br /><br />I LOVED it &amp; you&#39;ll too") ==
          "great movie!  i loved it & you'll too");
    CHECK(normalize_text("<a href=\"x\">Link</a> and <i>italic</i>") == " link  and  italic ");
    SUBCASE("a '<' that is no tag stays text") {
        CHECK(normalize_text("I <3 it; a < b > c") == "i <3 it; a < b > c");
        CHECK(normalize_text("unclosed <b tag") == "unclosed <b tag");
    }
    SUBCASE("entities") {
        CHECK(normalize_text("&lt;b&gt;bold&lt;/b&gt;") == "<b>bold</b>");  // text, not a tag
        CHECK(normalize_text("&#233;t&#xE9; &#X41;") == "\xC3\xA9t\xC3\xA9 a");
        CHECK(normalize_text("a&nbsp;b &quot;q&quot;") == "a b \"q\"");
        CHECK(normalize_text("&unknown; &amp &#;") == "&unknown; &amp &#;");
        CHECK(normalize_text("&#0; &#xD800; &#x110000;") == fffd + " " + fffd + " " + fffd);
        CHECK(normalize_text("&hellip;&rsquo;") == "\xE2\x80\xA6'");
    }
    SUBCASE("non-ASCII bytes are left intact and apostrophes unified") {
        CHECK(normalize_text("\xC3\x89"
                             "COLE Caf\xC3\xA9") ==
              "\xC3\x89"
              "cole caf\xC3\xA9");
        CHECK(normalize_text("Don\xE2\x80\x99t isn`t can\xC2\xB4t") == "don't isn't can't");
        CHECK(normalize_text("x\xC2\xA0y") == "x y");
    }
    SUBCASE("invalid UTF-8 is replaced by U+FFFD, or dropped when asked") {
        CHECK(normalize_text("bad\xFF"
                             "byte \xE2\x82 end") == "bad" + fffd + "byte " + fffd + " end");
        CHECK(normalize_text("bad\xFF"
                             "byte \xE2\x82 end",
                             NormalizeOptions().invalid_utf8(InvalidUtf8::drop)) == "badbyte  end");
    }
    SUBCASE("each step can be turned off") {
        const auto raw = "A<br/>&amp;";
        CHECK(normalize_text(raw, NormalizeOptions().strip_html(false)) == "a<br/>&");
        CHECK(normalize_text(raw, NormalizeOptions().decode_entities(false)) == "a &amp;");
        CHECK(normalize_text(raw, NormalizeOptions().lowercase(false)) == "A &");
        CHECK(normalize_text("it\xE2\x80\x99s", NormalizeOptions().unify_apostrophes(false)) ==
              "it\xE2\x80\x99s");
    }
}

TEST_CASE("tokenizer: known answers") {
    const Tokenizer tok;
    CHECK(tok.tokenize("Great movie!<br /><br />I LOVED it &amp; you&#39;ll too") ==
          Tokens{"great", "movie", "!", "i", "loved", "it", "you", "'ll", "too"});
    CHECK(tok.tokenize("I don't think it isn't, can't or won't WORK; it wasn't.") ==
          Tokens{"i", "don't", "think", "it", "isn't", "can't", "or", "won't", "work", "it",
                 "wasn't"});
    CHECK(tok.tokenize("Don\xE2\x80\x99t") == Tokens{"don't"});
    CHECK(tok.tokenize("Rated 7.5/10 by 1,000 users (in 2008).") ==
          Tokens{"rated", "7.5", "10", "by", "1,000", "users", "in", "2008"});
    CHECK(tok.tokenize("The movie's end was great!!! Really?") ==
          Tokens{"the", "movie", "'s", "end", "was", "great", "!", "!", "!", "really", "?"});
    CHECK(tok.tokenize("rock 'n' roll at o'clock, 'quoted' dogs' y'all") ==
          Tokens{"rock", "n", "roll", "at", "o'clock", "quoted", "dogs", "y'all"});
    CHECK(tok.tokenize("word...word--word_word \"q\" (p) [s] {c} a/b a-b a.b") ==
          Tokens{"word", "word", "word", "word", "q", "p", "s", "c", "a", "b", "a", "b", "a", "b"});
    CHECK(tok.tokenize("   \t\n  ").empty());
    CHECK(tok.tokenize("").empty());
    CHECK(tok.tokenize("shouldn't've") == Tokens{"shouldn't", "'ve"});
    CHECK(tok.tokenize("the 80's") == Tokens{"the", "80", "'s"});
}

TEST_CASE("tokenizer is UTF-8 safe") {
    const Tokenizer tok;
    SUBCASE("letters of any script are word characters; punctuation separates") {
        CHECK(tok.tokenize("Caf\xC3\xA9 na\xC3\xAFve\xE2\x80\x94really \xC2\xBFs\xC3\xAD?") ==
              Tokens{"caf\xC3\xA9", "na\xC3\xAFve", "really", "s\xC3\xAD", "?"});
        CHECK(
            tok.tokenize(
                "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xE6\x97\xA5\xE6\x9C\xAC") ==
            Tokens{"\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", "\xE6\x97\xA5\xE6\x9C\xAC"});
        CHECK(tok.tokenize("\xE2\x80\x9Cquoted\xE2\x80\x9D \xC2\xABguillemets\xC2\xBB") ==
              Tokens{"quoted", "guillemets"});
    }
    SUBCASE("symbols and emoji are tokens of their own") {
        CHECK(tok.tokenize("Loved it\xF0\x9F\x98\x80\xE2\x98\x85\xE2\x98\x85") ==
              Tokens{"loved", "it", "\xF0\x9F\x98\x80", "\xE2\x98\x85", "\xE2\x98\x85"});
    }
    SUBCASE("malformed bytes become U+FFFD inside the word, never a split character") {
        CHECK(tok.tokenize("bad\xFF"
                           "byte \xE2\x82 end") == Tokens{"bad" + fffd + "byte", fffd, "end"});
        const Tokenizer dropping(
            TokenizerOptions().normalize(NormalizeOptions().invalid_utf8(InvalidUtf8::drop)));
        CHECK(dropping.tokenize("bad\xFF"
                                "byte \xE2\x82 end") == Tokens{"badbyte", "end"});
    }
    SUBCASE("every token of arbitrary bytes is well-formed UTF-8") {
        Generator gen(7);
        std::string junk;
        for (int i = 0; i < 20000; ++i) junk.push_back(static_cast<char>(gen.randint(256)));
        std::size_t count = 0;
        for (const auto& t : tok.tokenize(junk)) {
            CHECK(is_valid_utf8(t));
            CHECK(!t.empty());
            ++count;
        }
        CHECK(count > 100);
    }
    SUBCASE("tokenize_normalized never splits a multi-byte character even on raw input") {
        std::vector<std::string> seen;
        tok.tokenize_normalized("\xC3\xA9\xE2\x80\x94\xC3\xA9",
                                [&](std::string_view t) { seen.emplace_back(t); });
        CHECK(seen == Tokens{"\xC3\xA9", "\xC3\xA9"});
    }
}

TEST_CASE("tokenizer options") {
    CHECK(Tokenizer(TokenizerOptions().keep_negations(false)).tokenize("I don't, can't") ==
          Tokens{"i", "do", "n't", "ca", "n't"});
    CHECK(Tokenizer(TokenizerOptions().split_clitics(false)).tokenize("It's the movie's") ==
          Tokens{"it's", "the", "movie's"});
    CHECK(Tokenizer(TokenizerOptions().keep_numbers(false)).tokenize("Top 10 of the 2000s: 9.5") ==
          Tokens{"top", "of", "the", "2000s"});
    CHECK(Tokenizer(TokenizerOptions().punctuation_tokens(".,!")).tokenize("Yes, no. Why?!") ==
          Tokens{"yes", ",", "no", ".", "why", "!"});
    CHECK(Tokenizer(TokenizerOptions().punctuation_tokens("")).tokenize("Wow!") == Tokens{"wow"});
    CHECK(Tokenizer(TokenizerOptions().normalize(NormalizeOptions().lowercase(false)))
              .tokenize("Don't SHOUT") == Tokens{"Don't", "SHOUT"});
}

TEST_CASE("token counting and vocabulary ordering") {
    const Tokenizer tok;
    const std::vector<std::string> docs = {"b a c", "a b a d", "e"};
    const TokenCounter counts = count_tokens(docs, tok);
    CHECK(counts.count("a") == 3);
    CHECK(counts.count("b") == 2);
    CHECK(counts.count("zzz") == 0);
    CHECK(counts.distinct() == 5);
    CHECK(counts.total() == 8);

    SUBCASE("frequency descending, ties by token ascending, specials first") {
        const Vocabulary v = Vocabulary::build(counts);
        CHECK(v.size() == 7);
        CHECK(v.decode({0, 1, 2, 3, 4, 5, 6}) == Tokens{"<pad>", "<unk>", "a", "b", "c", "d", "e"});
        CHECK(v.id("a") == 2);
        CHECK(v.id("never seen") == Vocabulary::unk_id);
        CHECK(v.frequency(2) == 3);
        CHECK(v.frequency(Vocabulary::pad_id) == 0);
        CHECK(v.encode({"a", "zzz", "e"}) == std::vector<std::int32_t>{2, 1, 6});
        CHECK(v.decode_to_string({2, 1, 6, 0, 0}) == "a <unk> e");
    }
    SUBCASE("max_tokens and min_frequency") {
        const Vocabulary top3 = Vocabulary::build(counts, VocabularyOptions().max_tokens(3));
        CHECK(top3.decode({2, 3, 4}) == Tokens{"a", "b", "c"});
        CHECK(top3.size() == 5);
        const Vocabulary frequent = Vocabulary::build(counts, VocabularyOptions().min_frequency(2));
        CHECK(frequent.size() == 4);
        CHECK(frequent.id("c") == Vocabulary::unk_id);
    }
    SUBCASE("from token streams, same as from counts") {
        const Vocabulary from_streams =
            Vocabulary::build(std::vector<Tokens>{{"b", "a", "c"}, {"a", "b", "a", "d"}, {"e"}});
        CHECK(from_streams == Vocabulary::build(counts));
    }
    SUBCASE("specials in the corpus are not duplicated") {
        TokenCounter c;
        c.add("<unk>", 100);
        c.add("x", 5);
        const Vocabulary v = Vocabulary::build(c, VocabularyOptions().max_tokens(1));
        CHECK(v.size() == 3);
        CHECK(v.token(2) == "x");
    }
    SUBCASE("out-of-range id") {
        const Vocabulary v;
        CHECK_THROWS_WITH_AS(v.token(5), doctest::Contains("id 5 out of range"), IndexError);
        CHECK_THROWS_AS(v.token(-1), IndexError);
    }
}

TEST_CASE("counting and encoding give the same result on any number of threads") {
    std::vector<std::string> docs;
    Generator gen(3);
    const char* words[] = {"good", "bad", "don't", "great!", "movie's", "plot", "7/10", "meh"};
    for (int d = 0; d < 3000; ++d) {
        std::string doc;
        const auto len = gen.randint(40);
        for (std::uint64_t w = 0; w < len; ++w) doc += std::string(words[gen.randint(8)]) + " ";
        docs.push_back(doc);
    }
    const Tokenizer tok;
    const int saved = num_threads();
    set_num_threads(1);
    const auto one_counts = count_tokens(docs, tok).most_common();
    const auto one_ids = encode_documents(docs, tok, Vocabulary::build(count_tokens(docs, tok)));
    set_num_threads(2);
    const auto two_counts = count_tokens(docs, tok).most_common();
    const auto two_ids = encode_documents(docs, tok, Vocabulary::build(count_tokens(docs, tok)));
    set_num_threads(saved);
    CHECK(one_counts == two_counts);
    CHECK(one_ids == two_ids);
    std::int64_t total = 0;
    for (const auto& [t, c] : one_counts) total += c;
    std::size_t encoded = 0;
    for (const auto& ids : one_ids) encoded += ids.size();
    CHECK(static_cast<std::size_t>(total) == encoded);
}

TEST_CASE("vocabulary save/load round trip and bad files") {
    const auto dir = temp_dir("vocab");
    TokenCounter c;
    c.add("caf\xC3\xA9", 4);
    c.add("don't", 9);
    c.add("!", 9);
    const Vocabulary v = Vocabulary::build(c);
    const std::string path = (dir / "vocab.txt").string();
    v.save(path);
    std::ifstream in(path);
    std::string header;
    std::getline(in, header);
    CHECK(header == "nnlite-vocab 1 5");
    const Vocabulary back = Vocabulary::load(path);
    CHECK(back == v);
    CHECK(back.id("don't") == 3);
    CHECK(back.token(2) == "!");
    CHECK(back.frequency(4) == 4);
    CHECK(!std::filesystem::exists(path + ".tmp"));

    SUBCASE("missing file names the path") {
        CHECK_THROWS_WITH_AS(Vocabulary::load((dir / "nope.txt").string()),
                             doctest::Contains("nope.txt"), IoError);
    }
    SUBCASE("bad header, bad line, duplicate and wrong count name file and line") {
        const auto bad = (dir / "bad.txt").string();
        write_file(bad, "");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad), doctest::Contains("bad.txt:1: empty file"),
                             FormatError);
        write_file(bad, "hello\n");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad),
                             doctest::Contains("bad.txt:1: expected the header"), FormatError);
        write_file(bad, "nnlite-vocab 1 3\n<pad>\t0\n<unk>\t0\nnotab\n");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad), doctest::Contains("bad.txt:4: expected"),
                             FormatError);
        write_file(bad, "nnlite-vocab 1 3\n<pad>\t0\n<unk>\t0\nx\tmany\n");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad), doctest::Contains("bad.txt:4: bad count"),
                             FormatError);
        write_file(bad, "nnlite-vocab 1 4\n<pad>\t0\n<unk>\t0\nx\t1\nx\t1\n");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad), doctest::Contains("bad.txt:5: duplicate token"),
                             FormatError);
        write_file(bad, "nnlite-vocab 1 9\n<pad>\t0\n<unk>\t0\n");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad),
                             doctest::Contains("declares 9 tokens but the file holds 2"),
                             FormatError);
        write_file(bad, "nnlite-vocab 1 2\n<unk>\t0\n<pad>\t0\n");
        CHECK_THROWS_WITH_AS(Vocabulary::load(bad), doctest::Contains("bad.txt:2: expected <pad>"),
                             FormatError);
    }
    SUBCASE("a token with a newline is refused when saving") {
        TokenCounter t;
        t.add("two\nlines");
        CHECK_THROWS_WITH_AS(Vocabulary::build(t).save((dir / "x.txt").string()),
                             doctest::Contains("tab or newline"), ValueError);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("vocabulary files from outside: size limit, FIFOs, devices and symlinks to them") {
    const auto dir = temp_dir("vocab_hostile");
    TokenCounter c;
    c.add("word", 3);
    const auto path = (dir / "vocab.txt").string();
    Vocabulary::build(c).save(path);
    const auto size = std::filesystem::file_size(path);

    SUBCASE("a file over the limit is refused before it is read, naming both sizes") {
        CHECK(Vocabulary::load(path, size).size() == 3);
        const std::string want = "is " + std::to_string(size) + " bytes, more than the limit of " +
                                 std::to_string(size - 1);
        CHECK_THROWS_WITH_AS(Vocabulary::load(path, size - 1), doctest::Contains(want.c_str()),
                             IoError);
    }
    SUBCASE("a FIFO is refused at once instead of waiting for a writer") {
        const auto fifo = (dir / "fifo.txt").string();
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        const auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH_AS(Vocabulary::load(fifo), doctest::Contains("is not a regular file"),
                             IoError);
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    }
    SUBCASE("a symlink to /dev/zero is refused, not read for gigabytes") {
        const auto link = dir / "zero.txt";
        std::filesystem::create_symlink("/dev/zero", link);
        CHECK_THROWS_WITH_AS(Vocabulary::load(link.string()),
                             doctest::Contains("is not a regular file"), IoError);
    }
    SUBCASE("a directory is refused") {
        CHECK_THROWS_AS(Vocabulary::load(dir.string()), IoError);
    }
    SUBCASE("parse() reads the same text from memory, naming the source in errors") {
        std::ifstream in(path, std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        CHECK(Vocabulary::parse(text, "mem") == Vocabulary::load(path));
        CHECK_THROWS_WITH_AS(Vocabulary::parse("nnlite-vocab 1 2\n<pad>\t0\n", "mem"),
                             doctest::Contains("mem: header declares 2 tokens but the file "
                                               "holds 1"),
                             FormatError);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("truncation keeps head, tail or both") {
    const std::vector<std::int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    using V = std::vector<std::int32_t>;
    CHECK(truncate(ids, SequenceOptions().max_length(4)) == V{1, 2, 3, 4});
    CHECK(truncate(ids, SequenceOptions().max_length(4).truncation(Truncation::tail)) ==
          V{7, 8, 9, 10});
    CHECK(truncate(ids, SequenceOptions().max_length(4).truncation(Truncation::head_tail)) ==
          V{1, 2, 9, 10});
    CHECK(truncate(ids, SequenceOptions()
                            .max_length(4)
                            .truncation(Truncation::head_tail)
                            .head_fraction(0.25)) == V{1, 8, 9, 10});
    CHECK(
        truncate(
            ids,
            SequenceOptions().max_length(5).truncation(Truncation::head_tail).head_fraction(1.0)) ==
        V{1, 2, 3, 4, 5});
    CHECK(
        truncate(
            ids,
            SequenceOptions().max_length(3).truncation(Truncation::head_tail).head_fraction(0.0)) ==
        V{8, 9, 10});
    CHECK(truncate(ids, SequenceOptions().max_length(20).truncation(Truncation::tail)) == ids);
    CHECK(truncate(ids, SequenceOptions()) == ids);
    CHECK_THROWS_WITH_AS(SequenceOptions().head_fraction(1.5), doctest::Contains("[0, 1], got 1.5"),
                         ValueError);
}

TEST_CASE("pad_batch builds [B, T] int32 ids and int64 lengths") {
    const std::vector<std::vector<std::int32_t>> seqs = {{5, 6, 7}, {8}, {}, {9, 10, 11, 12, 13}};
    SUBCASE("pads to the longest row, empty rows get one <pad> step") {
        const auto b = pad_batch(seqs, {0, 1, 2});
        CHECK(b.ids.shape() == Shape{3, 3});
        CHECK(b.ids.to_vector() == std::vector<std::int32_t>{5, 6, 7, 8, 0, 0, 0, 0, 0});
        CHECK(b.lengths.to_vector() == std::vector<std::int64_t>{3, 1, 1});
    }
    SUBCASE("truncates, and pads to max_length when asked") {
        const auto opt = SequenceOptions().max_length(4).truncation(Truncation::tail);
        const auto b = pad_batch(seqs, {3, 1}, opt);
        CHECK(b.ids.shape() == Shape{2, 4});
        CHECK(b.ids.to_vector() == std::vector<std::int32_t>{10, 11, 12, 13, 8, 0, 0, 0});
        CHECK(b.lengths.to_vector() == std::vector<std::int64_t>{4, 1});
        const auto fixed =
            pad_batch(seqs, {1}, SequenceOptions().max_length(6).pad_to_max_length(true));
        CHECK(fixed.ids.shape() == Shape{1, 6});
    }
    SUBCASE("min_length 0 and a custom pad id") {
        const auto b = pad_batch(seqs, {2, 1}, SequenceOptions().min_length(0).pad_id(-1));
        CHECK(b.ids.shape() == Shape{2, 1});
        CHECK(b.ids.to_vector() == std::vector<std::int32_t>{-1, 8});
        CHECK(b.lengths.to_vector() == std::vector<std::int64_t>{0, 1});
    }
    SUBCASE("all sequences in order") {
        const auto b = pad_batch(seqs);
        CHECK(b.ids.shape() == Shape{4, 5});
        CHECK(b.ids.at({3, 4}) == 13);
    }
    SUBCASE("bad batches") {
        CHECK_THROWS_WITH_AS(pad_batch(seqs, std::vector<std::size_t>{}),
                             doctest::Contains("empty batch"), ValueError);
        CHECK_THROWS_WITH_AS(pad_batch(seqs, {0, 4}),
                             doctest::Contains("index 4 out of range for 4 sequences"), IndexError);
        CHECK_THROWS_WITH_AS(pad_batch(seqs, {0}, SequenceOptions().pad_to_max_length(true)),
                             doctest::Contains("needs max_length"), ValueError);
    }
}

TEST_CASE("bucketed batches: every example once, little padding, reproducible") {
    Generator lengths_gen(11);
    std::vector<std::size_t> lengths(1003);
    for (auto& l : lengths) l = 1 + lengths_gen.randint(500);
    const BucketBatchSampler sampler(lengths, BucketBatchOptions(32).pool_batches(10));
    CHECK(sampler.num_batches() == 32);  // ceil(1003 / 32)

    Generator g1(42), g2(42), g3(43);
    const auto epoch1 = sampler.epoch(g1);
    const auto epoch1_again = sampler.epoch(g2);
    const auto epoch2 = sampler.epoch(g1);
    CHECK(epoch1 == epoch1_again);
    CHECK(epoch1 != epoch2);
    CHECK(epoch1 != sampler.epoch(g3));

    // padding efficiency: real tokens / padded cells
    const auto efficiency = [&](const std::vector<std::vector<std::size_t>>& batches) {
        double real = 0, padded = 0;
        for (const auto& b : batches) {
            std::size_t longest = 0;
            for (auto i : b) {
                real += static_cast<double>(lengths[i]);
                longest = std::max(longest, lengths[i]);
            }
            padded += static_cast<double>(longest * b.size());
        }
        return real / padded;
    };
    for (const auto& epoch : {epoch1, epoch2}) {
        CHECK(epoch.size() == 32);
        std::vector<int> seen(lengths.size(), 0);
        std::size_t short_batches = 0;
        for (const auto& batch : epoch) {
            short_batches += batch.size() < 32 ? 1 : 0;
            for (std::size_t k = 0; k < batch.size(); ++k) {
                ++seen[batch[k]];
                if (k) CHECK(lengths[batch[k - 1]] >= lengths[batch[k]]);  // longest first
            }
        }
        CHECK(short_batches == 1);
        for (int s : seen) CHECK(s == 1);
        CHECK(efficiency(epoch) > 0.85);  // about 0.89 for pools of 10 batches
    }
    // Random batches of the same lengths waste about half the cells.
    std::vector<std::vector<std::size_t>> random_batches;
    Generator g4(5);
    const auto perm = random_permutation(lengths.size(), g4);
    for (std::size_t b = 0; b < perm.size(); b += 32)
        random_batches.emplace_back(
            perm.begin() + static_cast<std::ptrdiff_t>(b),
            perm.begin() + static_cast<std::ptrdiff_t>(std::min(perm.size(), b + 32)));
    CHECK(efficiency(random_batches) < 0.7);

    SUBCASE("drop_last leaves out the one short batch") {
        const BucketBatchSampler dropping(lengths, BucketBatchOptions(32).drop_last(true));
        Generator g(1);
        const auto batches = dropping.epoch(g);
        CHECK(dropping.num_batches() == 31);
        CHECK(batches.size() == 31);
        for (const auto& b : batches) CHECK(b.size() == 32);
    }
    SUBCASE("without shuffle: globally sorted, deterministic, generator untouched") {
        const BucketBatchSampler eval(lengths, BucketBatchOptions(100).shuffle(false));
        Generator g(9);
        const auto batches = eval.epoch(g);
        CHECK(g.offset() == 0);
        CHECK(batches.size() == 11);
        CHECK(batches.back().size() == 3);
        std::size_t prev = static_cast<std::size_t>(-1);
        for (const auto& b : batches)
            for (auto i : b) {
                CHECK(lengths[i] <= prev);
                prev = lengths[i];
            }
        CHECK(efficiency(batches) > 0.9);
    }
    SUBCASE("bad options") {
        CHECK_THROWS_WITH_AS(BucketBatchOptions(0),
                             doctest::Contains("batch_size must be positive"), ValueError);
        CHECK_THROWS_AS(BucketBatchOptions(8).pool_batches(0), ValueError);
    }
}

TEST_CASE("random_permutation is a seeded permutation") {
    Generator a(1), b(1);
    const auto p = random_permutation(100, a);
    CHECK(p == random_permutation(100, b));
    CHECK(std::set<std::size_t>(p.begin(), p.end()).size() == 100);
    CHECK(*std::max_element(p.begin(), p.end()) == 99);
    std::size_t fixed_points = 0;
    for (std::size_t i = 0; i < p.size(); ++i) fixed_points += p[i] == i ? 1 : 0;
    CHECK(fixed_points < 10);
}
