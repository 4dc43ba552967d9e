// imdb_json_query: the JSON reader the command-line tests use (CI has no Python or jq).
//
//   imdb_json_query FILE POINTER...           FILE holds one JSON document ("-" = stdin)
//   imdb_json_query --lines FILE POINTER...   FILE holds one JSON document per line
//
// Prints the value at each JSON pointer (RFC 6901, e.g. /results/0/label), tab-separated,
// one output line per document: strings raw, everything else as compact JSON, and for
// "POINTER#" the size of the array or object there. Exits 1 with `error: ...` naming the
// file, line and pointer when a document does not parse or a pointer is missing, so a test
// that queries a key also asserts that it exists.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string render(const nlohmann::json& doc, const std::string& query) {
    const bool want_size = !query.empty() && query.back() == '#';
    const nlohmann::json::json_pointer ptr(want_size ? query.substr(0, query.size() - 1) : query);
    const nlohmann::json& v = doc.at(ptr);
    if (want_size) {
        if (!v.is_array() && !v.is_object())
            throw std::runtime_error(query + " is not an array or object");
        return std::to_string(v.size());
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
}

int query_document(const std::string& text, const std::string& where,
                   const std::vector<std::string>& queries) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "error: %s: not JSON: %s\n", where.c_str(), e.what());
        return 1;
    }
    std::string line;
    for (std::size_t i = 0; i < queries.size(); ++i) {
        try {
            line += (i ? "\t" : "") + render(doc, queries[i]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s: %s: %s\n", where.c_str(), queries[i].c_str(),
                         e.what());
            return 1;
        }
    }
    std::printf("%s\n", line.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    const bool lines = !args.empty() && args[0] == "--lines";
    if (lines) args.erase(args.begin());
    if (args.empty()) {
        std::fprintf(stderr, "usage: imdb_json_query [--lines] FILE|- POINTER...\n");
        return 2;
    }
    const std::string path = args[0];
    const std::vector<std::string> queries(args.begin() + 1, args.end());
    std::ifstream file;
    if (path != "-") {
        file.open(path, std::ios::binary);
        if (!file) {
            std::fprintf(stderr, "error: cannot read %s\n", path.c_str());
            return 1;
        }
    }
    std::istream& in = path == "-" ? std::cin : file;
    if (!lines) {
        std::ostringstream os;
        os << in.rdbuf();
        return query_document(os.str(), path, queries);
    }
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (query_document(line, path + ":" + std::to_string(n), queries) != 0) return 1;
    }
    return 0;
}
