// The real IMDB archive ($NNLITE_IMDB_DATA): 25k + 25k labelled reviews, balanced, with
// the ratings and the first review as published (found as imdb::default_data_path says). Without
// the data this program prints why and exits 77, which ctest reports as skipped (SKIP_RETURN_CODE
// 77), not passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "data/dataset.hpp"

namespace fs = std::filesystem;

TEST_CASE("the real IMDB archive (NNLITE_IMDB_DATA)") {
    const std::string path = imdb::default_data_path();  // main() checked that it exists
    auto d = imdb::load(path);
    CHECK(d.train.size() == 25000);
    CHECK(d.test.size() == 25000);
    for (const auto* split : {&d.train, &d.test}) {
        CHECK(imdb::Dataset::count_label(*split, 1) == 12500);
        CHECK(imdb::Dataset::count_label(*split, 0) == 12500);
        for (const auto& r : *split) {
            CHECK((r.label == 1 ? r.rating >= 7 : r.rating <= 4));
            CHECK(r.rating >= 1);
        }
    }
    CHECK(d.skipped_empty == 0);
    CHECK(d.repaired_utf8 == 0);
    const auto bromwell = std::find_if(d.train.begin(), d.train.end(), [](const imdb::Review& r) {
        return r.label == 1 && r.id == 0;
    });
    REQUIRE(bromwell != d.train.end());
    CHECK(bromwell->where().find("train/pos/0_9.txt") != std::string::npos);
    CHECK(bromwell->text.rfind("Bromwell High is a cartoon comedy.", 0) == 0);
    imdb::split_validation(d);
    CHECK(d.validation.size() == 2500);
    CHECK(imdb::Dataset::count_label(d.validation, 1) == 1250);
    CHECK(d.train.size() == 22500);
}

int main(int argc, char** argv) {
    const std::string path = imdb::default_data_path();
    if (path.empty()) {
        std::printf("skipped: no IMDB data (set NNLITE_IMDB_DATA, or see docs/imdb.md)\n");
        return 77;
    }
    if (!fs::exists(path)) {
        std::printf("skipped: NNLITE_IMDB_DATA=%s does not exist\n", path.c_str());
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
