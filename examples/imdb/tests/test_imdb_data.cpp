// IMDB readers on small synthetic trees, archives and CSVs made here, every bad-input path,
// the splits. The real archive has its own test (test_imdb_real_data.cpp), which ctest
// reports as skipped where the data is absent.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nnlite/core/error.hpp>
#include <nnlite/text/corpus.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.hpp"

namespace fs = std::filesystem;
using nnlite::FormatError;
using nnlite::IoError;
using nnlite::ValueError;
using Files = std::vector<std::pair<std::string, std::string>>;

namespace {

fs::path temp_dir(const std::string& name) {
    auto dir =
        fs::temp_directory_path() / ("nnlite_test_imdb_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_file(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

void write_tree(const fs::path& root, const Files& files) {
    for (const auto& [name, content] : files) write_file(root / name, content);
}

/// Writes `files` as a tar archive, gzip-compressed unless `gzip` is false, with
/// libarchive's writer (what GNU tar and Python's tarfile read too).
enum class Container { tar, tar_gz, tar_bz2, tar_xz, zip };

void write_archive(const fs::path& path, const Files& files, Container c) {
    archive* a = archive_write_new();
    if (c == Container::tar_gz) archive_write_add_filter_gzip(a);
    if (c == Container::tar_bz2) archive_write_add_filter_bzip2(a);
    if (c == Container::tar_xz) archive_write_add_filter_xz(a);
    if (c == Container::zip)
        archive_write_set_format_zip(a);
    else
        archive_write_set_format_pax_restricted(a);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& [name, content] : files) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
        if (!content.empty())
            REQUIRE(archive_write_data(a, content.data(), content.size()) ==
                    static_cast<la_ssize_t>(content.size()));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

void write_tar(const fs::path& path, const Files& files, bool gzip = true) {
    write_archive(path, files, gzip ? Container::tar_gz : Container::tar);
}

/// A miniature aclImdb: 3 train/neg, 2 train/pos, 1 test/neg, 2 test/pos, plus the
/// files the real archive has that are not labelled reviews.
Files mini_imdb(const std::string& prefix = "aclImdb/") {
    return {
        {prefix + "README", "Large Movie Review Dataset v1.0"},
        {prefix + "imdb.vocab", "the\nand\n"},
        {prefix + "train/labeledBow.feat", "9 0:9 1:1\n"},
        {prefix + "train/neg/10_2.txt", "Worse than the first."},
        {prefix + "train/neg/0_3.txt", "Awful.<br /><br />Just awful."},
        {prefix + "train/neg/1_1.txt", "Bad &amp; boring, don't bother"},
        {prefix + "train/pos/0_9.txt",
         "Bromwell High is a cartoon comedy. It ran at the same time"},
        {prefix + "train/pos/1_7.txt", "Great!<br />Loved it"},
        {prefix + "train/unsup/0_0.txt", "An unlabeled review."},
        {prefix + "train/urls_pos.txt", "http://www.imdb.com/title/tt0453418/usercomments\n"},
        {prefix + "test/neg/0_4.txt", "Meh."},
        {prefix + "test/pos/0_10.txt", "Superb \xE2\x80\x94 a caf\xC3\xA9 classic!"},
        {prefix + "test/pos/3_8.txt", "Very good"},
    };
}

std::vector<std::string> texts(const std::vector<imdb::Review>& split) {
    std::vector<std::string> out;
    for (const auto& r : split) out.push_back(r.text);
    return out;
}

void check_mini(const imdb::Dataset& d) {
    REQUIRE(d.train.size() == 5);
    REQUIRE(d.test.size() == 3);
    CHECK(d.validation.empty());
    CHECK(d.skipped_empty == 0);
    CHECK(d.repaired_utf8 == 0);
    CHECK(d.notes.empty());
    // negative first, then positive, each by numeric id (10_2 after 1_1)
    CHECK(texts(d.train) ==
          std::vector<std::string>{"Awful.<br /><br />Just awful.",
                                   "Bad &amp; boring, don't bother", "Worse than the first.",
                                   "Bromwell High is a cartoon comedy. It ran at the same time",
                                   "Great!<br />Loved it"});
    const std::vector<int> labels = {0, 0, 0, 1, 1}, ratings = {3, 1, 2, 9, 7};
    const std::vector<long> ids = {0, 1, 10, 0, 1};
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(d.train[i].label == labels[i]);
        CHECK(d.train[i].rating == ratings[i]);
        CHECK(d.train[i].id == ids[i]);
        CHECK(d.train[i].line == 0);
    }
    CHECK(d.train[3].where().find("train/pos/0_9.txt") != std::string::npos);
    CHECK(d.test[1].text == "Superb \xE2\x80\x94 a caf\xC3\xA9 classic!");
    CHECK(d.test[1].rating == 10);
    CHECK(d.test[2].id == 3);
    CHECK(imdb::Dataset::count_label(d.test, 1) == 2);
    CHECK(d.summary() == "train 5 (2 pos / 3 neg), test 3 (2 pos / 1 neg)");
}

}  // namespace

TEST_CASE("directory layout: aclImdb itself or its parent") {
    const auto dir = temp_dir("dir");
    write_tree(dir, mini_imdb());
    CHECK(imdb::detect_format(dir.string()) == imdb::Format::directory);
    const auto from_parent = imdb::load(dir.string());
    CHECK(from_parent.format == imdb::Format::directory);
    check_mini(from_parent);
    const auto direct = imdb::load_directory((dir / "aclImdb").string());
    check_mini(direct);
    CHECK(direct.train[0].source == (dir / "aclImdb" / "train" / "neg" / "0_3.txt").string());
    fs::remove_all(dir);
}

TEST_CASE("archive: tar.gz with a top folder, plain tar without one, same data as the tree") {
    const auto dir = temp_dir("archive");
    SUBCASE("aclImdb_v1.tar.gz layout, unsup and extra files skipped") {
        const auto path = dir / "aclImdb_v1.tar.gz";
        write_tar(path, mini_imdb());
        CHECK(imdb::detect_format(path.string()) == imdb::Format::archive);
        const auto d = imdb::load(path.string());
        CHECK(d.format == imdb::Format::archive);
        check_mini(d);
        CHECK(d.train[3].where() == path.string() + ":aclImdb/train/pos/0_9.txt");
    }
    SUBCASE("uncompressed tar with ./ entries at the root") {
        const auto path = dir / "imdb.tar";
        write_tar(path, mini_imdb("./"), /*gzip=*/false);
        CHECK(imdb::detect_format(path.string()) == imdb::Format::archive);
        check_mini(imdb::load(path.string()));
    }
    SUBCASE("tar.bz2, tar.xz and zip are read too") {
        const std::pair<const char*, Container> kinds[] = {{"a.tar.bz2", Container::tar_bz2},
                                                           {"a.tar.xz", Container::tar_xz},
                                                           {"a.zip", Container::zip}};
        for (const auto& [name, kind] : kinds) {
            CAPTURE(name);
            write_archive(dir / name, mini_imdb(), kind);
            CHECK(imdb::detect_format((dir / name).string()) == imdb::Format::archive);
            check_mini(imdb::load((dir / name).string()));
        }
    }
    SUBCASE("the tree and the archive give identical datasets") {
        write_tree(dir / "tree", mini_imdb());
        write_tar(dir / "a.tar.gz", mini_imdb());
        const auto a = imdb::load((dir / "tree").string());
        const auto b = imdb::load((dir / "a.tar.gz").string());
        CHECK(texts(a.train) == texts(b.train));
        CHECK(texts(a.test) == texts(b.test));
    }
    fs::remove_all(dir);
}

TEST_CASE("CSV: RFC 4180 quoting, header, stratified seeded split") {
    const auto dir = temp_dir("csv");
    const auto path = (dir / "IMDB Dataset.csv").string();
    // line 1 header (with BOM, CRLF); a review spanning lines 3-4; doubled quotes; commas.
    std::string csv = "\xEF\xBB\xBFreview,sentiment\r\n";
    csv += "\"One of the best, truly.\",positive\r\n";             // line 2
    csv += "\"Line one\nline two, \"\"quoted\"\"\",negative\r\n";  // lines 3-4
    csv += "plain unquoted text,Negative\r\n";                     // line 5
    for (int i = 0; i < 7; ++i) csv += "\"good " + std::to_string(i) + "\",positive\n";  // 6-12
    for (int i = 0; i < 7; ++i) csv += "bad " + std::to_string(i) + ",negative\n";       // 13-19
    csv += "\n";  // trailing blank line
    write_file(path, csv);
    CHECK(imdb::detect_format(path) == imdb::Format::csv);
    const auto d = imdb::load(path);
    CHECK(d.format == imdb::Format::csv);
    // 8 positive, 9 negative; half of each (rounded) to test: 4 pos + 5 neg (9/2 = 4.5 -> 5).
    CHECK(d.train.size() + d.test.size() == 17);
    CHECK(imdb::Dataset::count_label(d.test, 1) == 4);
    CHECK(imdb::Dataset::count_label(d.test, 0) == 5);
    CHECK(imdb::Dataset::count_label(d.train, 1) == 4);
    CHECK(imdb::Dataset::count_label(d.train, 0) == 4);
    REQUIRE(d.notes.size() == 1);
    CHECK(d.notes[0].find("no train/test split") != std::string::npos);
    CHECK(d.notes[0].find("seed 42") != std::string::npos);

    std::vector<imdb::Review> all = d.train;
    all.insert(all.end(), d.test.begin(), d.test.end());
    const auto find = [&](long id) {
        return *std::find_if(all.begin(), all.end(),
                             [id](const imdb::Review& r) { return r.id == id; });
    };
    CHECK(find(0).text == "One of the best, truly.");
    CHECK(find(0).line == 2);
    CHECK(find(1).text == "Line one\nline two, \"quoted\"");
    CHECK(find(1).line == 3);
    CHECK(find(1).label == 0);
    CHECK(find(2).line == 5);
    CHECK(find(2).text == "plain unquoted text");
    CHECK(find(2).where() == path + ":5");
    CHECK(find(16).line == 19);
    CHECK(find(0).rating == -1);

    SUBCASE("same seed, same split; another seed, another split; other fractions") {
        const auto again = imdb::load(path);
        CHECK(texts(again.test) == texts(d.test));
        imdb::LoadOptions other;
        other.seed = 7;
        CHECK(texts(imdb::load(path, other).test) != texts(d.test));
        imdb::LoadOptions fifth;
        fifth.csv_test_fraction = 0.25;
        const auto f = imdb::load(path, fifth);
        CHECK(f.test.size() == 2 + 2);  // round(8/4) pos + round(9/4) neg
        fifth.csv_test_fraction = 1.0;
        CHECK_THROWS_WITH_AS(imdb::load(path, fifth), doctest::Contains("csv_test_fraction"),
                             ValueError);
    }
    SUBCASE("columns in another order, extra columns ignored") {
        const auto p2 = (dir / "other.csv").string();
        write_file(p2,
                   "id,Sentiment,Review\n1,negative,\"awful, awful\"\n2,positive,great\n"
                   "3,NEGATIVE,dull\n4,Positive,fine\n");
        const auto o = imdb::load(p2);
        REQUIRE(o.train.size() == 2);
        REQUIRE(o.test.size() == 2);
        std::set<std::string> seen;
        for (const auto* split : {&o.train, &o.test})
            for (const auto& r : *split) seen.insert(r.text + (r.label ? "+" : "-"));
        CHECK(seen == std::set<std::string>{"awful, awful-", "great+", "dull-", "fine+"});
    }
    fs::remove_all(dir);
}

TEST_CASE("bad input: each a clear error naming the file") {
    const auto dir = temp_dir("bad");
    SUBCASE("missing path") {
        const std::string missing = (dir / "no_such_thing").string();
        const std::string expected = missing + " does not exist";
        CHECK_THROWS_WITH_AS(imdb::load(missing), doctest::Contains(expected.c_str()), IoError);
        CHECK_THROWS_WITH_AS(imdb::load_archive(missing), doctest::Contains("no_such_thing"),
                             IoError);
        CHECK_THROWS_WITH_AS(imdb::load_csv(missing), doctest::Contains("no_such_thing"), IoError);
        CHECK_THROWS_WITH_AS(imdb::load_directory(missing), doctest::Contains("no_such_thing"),
                             IoError);
    }
    SUBCASE("unreadable file") {
        if (::geteuid() == 0) {
            MESSAGE(
                "running as root: permission bits do not stop reads, unreadable-file case skipped");
        } else {
            const auto p = dir / "locked.csv";
            write_file(p, "review,sentiment\nx,positive\n");
            fs::permissions(p, fs::perms::none);
            CHECK_THROWS_WITH_AS(imdb::load_csv(p.string()), doctest::Contains("locked.csv"),
                                 IoError);
        }
    }
    SUBCASE("directory without the expected folders") {
        write_file(dir / "data" / "notes.txt", "hello");
        CHECK_THROWS_WITH_AS(imdb::load((dir / "data").string()),
                             doctest::Contains("no train/ and test/ folders"), FormatError);
        CHECK_THROWS_WITH_AS(imdb::load((dir / "data").string()),
                             doctest::Contains("found: notes.txt"), FormatError);
        Files partial = mini_imdb();
        partial.erase(std::remove_if(partial.begin(), partial.end(),
                                     [](const auto& f) {
                                         return f.first.find("test/neg") != std::string::npos;
                                     }),
                      partial.end());
        write_tree(dir / "partial", partial);
        CHECK_THROWS_WITH_AS(imdb::load((dir / "partial").string()),
                             doctest::Contains("missing folder"), FormatError);
        write_file(dir / "partial" / "aclImdb" / "test" / "neg" / "README", "no reviews here");
        CHECK_THROWS_WITH_AS(imdb::load((dir / "partial").string()),
                             doctest::Contains("holds no .txt reviews"), FormatError);
    }
    SUBCASE("archive without the expected folders") {
        const auto p = dir / "wrong.tar.gz";
        write_tar(p, {{"reviews/train/pos/0_9.txt", "x"}, {"reviews/test/neg/0_1.txt", "y"}});
        CHECK_THROWS_WITH_AS(imdb::load(p.string()),
                             doctest::Contains("wrong.tar.gz: no reviews under"), FormatError);
        CHECK_THROWS_WITH_AS(imdb::load(p.string()),
                             doctest::Contains("first entries: reviews/train/pos/0_9.txt"),
                             FormatError);
        Files no_test_pos = mini_imdb();
        no_test_pos.erase(std::remove_if(no_test_pos.begin(), no_test_pos.end(),
                                         [](const auto& f) {
                                             return f.first.find("test/pos") != std::string::npos;
                                         }),
                          no_test_pos.end());
        write_tar(dir / "half.tar.gz", no_test_pos);
        CHECK_THROWS_WITH_AS(imdb::load((dir / "half.tar.gz").string()),
                             doctest::Contains("no reviews under test/pos/"), FormatError);
    }
    SUBCASE("a non-gzip file passed as an archive") {
        const auto p = dir / "aclImdb_v1.tar.gz";
        write_file(p, "<html><body>404 Not Found</body></html>\n");
        CHECK_THROWS_WITH_AS(imdb::load(p.string()),
                             doctest::Contains("aclImdb_v1.tar.gz: named like a gzip archive"),
                             FormatError);
        CHECK_THROWS_WITH_AS(imdb::load_archive(p.string()),
                             doctest::Contains("aclImdb_v1.tar.gz: not a readable tar/tar.gz/zip"),
                             FormatError);
        const auto txt = dir / "notes.txt";
        write_file(txt, "just some notes\n");
        CHECK_THROWS_WITH_AS(imdb::load(txt.string()),
                             doctest::Contains("notes.txt: not an IMDB data source"), FormatError);
        CHECK_THROWS_WITH_AS(imdb::load_archive(dir.string()), doctest::Contains("is a directory"),
                             FormatError);
    }
    SUBCASE("a truncated archive") {
        const auto good = dir / "good.tar.gz";
        Files big = mini_imdb();
        std::string noise;
        for (int i = 0; i < 200000; ++i) noise += std::to_string(i * 7919 % 10007) + " ";
        big.emplace_back("aclImdb/train/pos/5_8.txt", noise);
        write_tar(good, big);
        std::ifstream in(good, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto cut = dir / "cut.tar.gz";
        write_file(cut, bytes.substr(0, bytes.size() / 2));
        CHECK_THROWS_WITH_AS(imdb::load(cut.string()), doctest::Contains("cut.tar.gz"),
                             FormatError);
    }
    SUBCASE("CSV: bad label, unterminated quote, field count, header, stray quote, empty") {
        const auto p = (dir / "x.csv").string();
        write_file(p, "review,sentiment\n\"ok\",positive\nfine,neutral\n");
        CHECK_THROWS_WITH_AS(imdb::load(p),
                             doctest::Contains("x.csv:3: bad sentiment label \"neutral\""),
                             FormatError);
        write_file(p, "review,sentiment\ngood,positive\n\"never closed,\nnegative\nmore\n");
        CHECK_THROWS_WITH_AS(imdb::load(p), doctest::Contains("x.csv:3: unterminated quoted field"),
                             FormatError);
        write_file(p, "review,sentiment\nan, unquoted comma,positive\n");
        CHECK_THROWS_WITH_AS(imdb::load(p), doctest::Contains("x.csv:2: expected 2 fields"),
                             FormatError);
        write_file(p, "text,label\nx,positive\n");
        CHECK_THROWS_WITH_AS(imdb::load_csv(p), doctest::Contains("x.csv:1: expected a header row"),
                             FormatError);
        write_file(p, "review,sentiment\n\"a\"b,positive\n");
        CHECK_THROWS_WITH_AS(imdb::load(p),
                             doctest::Contains("x.csv:2: unexpected text after the closing quote"),
                             FormatError);
        write_file(p, "");
        CHECK_THROWS_WITH_AS(imdb::load_csv(p), doctest::Contains("x.csv:1: empty file"),
                             FormatError);
        write_file(p, "review,sentiment\n");
        CHECK_THROWS_WITH_AS(imdb::load_csv(p), doctest::Contains("x.csv: no reviews"),
                             FormatError);
    }
    fs::remove_all(dir);
}

TEST_CASE("empty reviews are skipped and counted; malformed UTF-8 is repaired") {
    const auto dir = temp_dir("policy");
    Files files = mini_imdb();
    files.emplace_back("aclImdb/train/pos/7_8.txt", "");
    files.emplace_back("aclImdb/test/neg/4_2.txt", " \n\t ");
    files.emplace_back("aclImdb/test/neg/5_1.txt", "Terrible \xFF\xFE acting \xE2\x82");
    const auto check_policies = [](const imdb::Dataset& d) {
        CHECK(d.train.size() == 5);
        CHECK(d.test.size() == 4);
        CHECK(d.skipped_empty == 2);
        REQUIRE(d.skipped_sources.size() == 2);
        CHECK(d.repaired_utf8 == 1);
        const auto& bad = d.test[1];
        CHECK(bad.id == 5);
        CHECK(bad.text == "Terrible \xEF\xBF\xBD\xEF\xBF\xBD acting \xEF\xBF\xBD");
        REQUIRE(d.notes.size() == 2);
        CHECK(d.notes[0].find("skipped 2 empty reviews") != std::string::npos);
        CHECK(d.notes[1].find("repaired malformed UTF-8 in 1 review") != std::string::npos);
        // and the tokenizer takes the repaired text
        const nnlite::text::Tokenizer tok;
        CHECK(tok.tokenize(bad.text) == std::vector<std::string>{"terrible",
                                                                 "\xEF\xBF\xBD\xEF\xBF\xBD",
                                                                 "acting", "\xEF\xBF\xBD"});
    };
    write_tree(dir / "tree", files);
    check_policies(imdb::load((dir / "tree").string()));
    write_tar(dir / "a.tar.gz", files);
    check_policies(imdb::load((dir / "a.tar.gz").string()));
    const auto csv = (dir / "e.csv").string();
    write_file(csv,
               "review,sentiment\n\"\",positive\nbad \xC3,negative\nok,positive\nno,negative\n");
    const auto c = imdb::load(csv);
    CHECK(c.skipped_empty == 1);
    CHECK(c.skipped_sources[0] == csv + ":2");
    CHECK(c.repaired_utf8 == 1);
    CHECK(c.train.size() + c.test.size() == 3);
    fs::remove_all(dir);
}

TEST_CASE("a 1 MB review loads whole; the size limit names the file") {
    const auto dir = temp_dir("big");
    std::string huge;
    huge.reserve(1 << 20);
    while (huge.size() < (1u << 20)) huge += "This film is long, really long. ";
    huge.resize(1 << 20);
    Files files = mini_imdb();
    files.emplace_back("aclImdb/train/neg/99_1.txt", huge);
    write_tree(dir / "tree", files);
    write_tar(dir / "a.tar.gz", files);
    write_file(dir / "big.csv", "review,sentiment\n\"" + huge + "\",negative\nshort,positive\n");
    for (const auto& p : {dir / "tree", dir / "a.tar.gz", dir / "big.csv"}) {
        CAPTURE(p);
        const auto d = imdb::load(p.string());
        std::size_t longest = 0;
        for (const auto* split : {&d.train, &d.test})
            for (const auto& r : *split) longest = std::max(longest, r.text.size());
        CHECK(longest == (1u << 20));
        imdb::LoadOptions small;
        small.max_review_bytes = 1000;
        CHECK_THROWS_WITH_AS(
            imdb::load(p.string(), small),
            doctest::Contains("review is 1048576 bytes, more than the limit of 1000"), FormatError);
    }
    // and it tokenizes in one piece
    const nnlite::text::Tokenizer tok;
    CHECK(tok.tokenize(huge).size() > 190000);
    fs::remove_all(dir);
}

TEST_CASE("stratified_split and split_validation") {
    std::vector<int> labels;
    for (int i = 0; i < 1000; ++i) labels.push_back(i % 4 == 0 ? 1 : 0);  // 250 pos, 750 neg
    const auto s = imdb::stratified_split(labels, 0.1, 5);
    CHECK(s.second.size() == 100);
    CHECK(s.first.size() == 900);
    std::size_t pos = 0;
    for (auto i : s.second) pos += static_cast<std::size_t>(labels[i]);
    CHECK(pos == 25);
    std::set<std::size_t> all(s.first.begin(), s.first.end());
    all.insert(s.second.begin(), s.second.end());
    CHECK(all.size() == 1000);
    CHECK(std::is_sorted(s.first.begin(), s.first.end()));
    CHECK(imdb::stratified_split(labels, 0.1, 5).second == s.second);
    CHECK(imdb::stratified_split(labels, 0.1, 6).second != s.second);
    CHECK_THROWS_AS(imdb::stratified_split(labels, 1.5, 0), ValueError);

    imdb::Dataset d;
    for (long i = 0; i < 200; ++i) {
        imdb::Review r;
        r.label = i < 100 ? 0 : 1;
        r.id = i;
        r.text = "review " + std::to_string(i);
        if (i % 2) d.test.push_back(r);
        d.train.push_back(r);
    }
    std::sort(d.train.begin(), d.train.end(), [](auto& a, auto& b) { return a.id < b.id; });
    const auto test_before = texts(d.test);
    const auto train_before = texts(d.train);
    imdb::split_validation(d);
    CHECK(d.validation.size() == 20);
    CHECK(imdb::Dataset::count_label(d.validation, 1) == 10);
    CHECK(d.train.size() == 180);
    CHECK(texts(d.test) == test_before);
    CHECK(d.notes.back().find("validation: 10% of each class of TRAIN") != std::string::npos);
    const auto first_validation = texts(d.validation);
    imdb::split_validation(d);  // again: same seed, same split, from the full TRAIN
    CHECK(texts(d.validation) == first_validation);
    CHECK(d.notes.size() == 1);
    imdb::split_validation(d, 0.0);
    CHECK(d.validation.empty());
    CHECK(texts(d.train) == train_before);
    CHECK_THROWS_WITH_AS(imdb::split_validation(d, 1.0), doctest::Contains("[0, 1)"), ValueError);
}
