// The include graph of include/nnlite/ points one way (docs/architecture.md):
//
//   nnlite.hpp, cuda.hpp, device.hpp           umbrella and run-time device choice
//   nn optim io text metrics distributed       what applications use
//   ops                                        differentiable functions
//   autograd                                   graph nodes, the backward engine
//   tensor                                     Tensor: storage handle + autograd state
//   backend (contract), backend/cpu, backend/cuda
//   core                                       shape, dtype, errors, random, threads
//
// A header may include its own folder and the layers below it, never above. The backend
// contract (files directly in backend/) names no backend; backend/cpu and backend/cuda do
// not include each other. The file graph and the folder graph have no cycles. The checker
// is tested on small made-up graphs first, so a broken checker cannot pass the real tree.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using IncludeGraph = std::map<std::string, std::vector<std::string>>;  // header -> includes

/// The layer a header belongs to: its first folder under nnlite/, or "" for the headers
/// directly in nnlite/ (umbrella level). backend/cpu and backend/cuda are their own units.
std::string unit_of(const std::string& header) {
    // header: "nnlite/ops/lstm.hpp", "nnlite/backend/cpu/kernels.hpp", "nnlite/nnlite.hpp"
    const auto first = header.find('/');
    const auto second = header.find('/', first + 1);
    if (second == std::string::npos) return "";
    std::string unit = header.substr(first + 1, second - first - 1);
    if (unit == "backend") {
        const auto third = header.find('/', second + 1);
        if (third != std::string::npos) unit += "/" + header.substr(second + 1, third - second - 1);
    }
    return unit;
}

int rank_of(const std::string& unit) {
    static const std::map<std::string, int> ranks = {
        {"core", 0},        {"backend", 1},  {"backend/cpu", 1}, {"backend/cuda", 1},
        {"tensor", 2},      {"autograd", 3}, {"ops", 4},         {"nn", 5},
        {"optim", 5},       {"io", 5},       {"text", 5},        {"metrics", 5},
        {"distributed", 5}, {"", 6}};
    const auto it = ranks.find(unit);
    return it == ranks.end() ? -1 : it->second;
}

/// Every rule broken by the graph, one message each (empty: the graph is clean).
std::vector<std::string> layering_violations(const IncludeGraph& graph) {
    std::vector<std::string> out;
    std::map<std::string, std::set<std::string>> unit_edges;
    for (const auto& [from, includes] : graph) {
        const std::string fu = unit_of(from);
        if (rank_of(fu) < 0) {
            out.push_back(from + ": folder '" + fu + "' has no layer (add it to the table)");
            continue;
        }
        for (const auto& to : includes) {
            const std::string tu = unit_of(to);
            if (rank_of(tu) < 0) continue;  // reported as its own header
            if (rank_of(tu) > rank_of(fu))
                out.push_back(from + " includes " + to + ": '" + tu + "' is above '" + fu + "'");
            if (fu == "backend" && tu.rfind("backend/", 0) == 0)
                out.push_back(from + " includes " + to + ": the backend contract names no backend");
            if ((fu == "backend/cpu" && tu == "backend/cuda") ||
                (fu == "backend/cuda" && tu == "backend/cpu"))
                out.push_back(from + " includes " + to + ": backends do not include each other");
            if (fu != tu) unit_edges[fu].insert(tu);
        }
    }
    // Cycles, by depth-first search with colours (0 new, 1 on the stack, 2 done).
    auto find_cycles = [&out](const auto& edges, const std::string& what) {
        std::map<std::string, int> colour;
        std::vector<std::string> stack;
        std::function<void(const std::string&)> visit = [&](const std::string& n) {
            colour[n] = 1;
            stack.push_back(n);
            const auto it = edges.find(n);
            if (it != edges.end())
                for (const auto& m : it->second) {
                    if (colour[m] == 1) {
                        std::string cycle = what + " cycle:";
                        auto pos = std::find(stack.begin(), stack.end(), m);
                        for (; pos != stack.end(); ++pos) cycle += " " + *pos + " ->";
                        out.push_back(cycle + " " + m);
                    } else if (colour[m] == 0) {
                        visit(m);
                    }
                }
            stack.pop_back();
            colour[n] = 2;
        };
        for (const auto& [n, unused] : edges)
            if (colour[n] == 0) visit(n);
    };
    find_cycles(graph, "include");
    find_cycles(unit_edges, "folder");
    return out;
}

/// The nnlite includes of every header under include/nnlite/.
IncludeGraph read_include_graph(const fs::path& include_root) {
    IncludeGraph graph;
    const std::regex include_line(R"(^\s*#\s*include\s*[<"](nnlite/[^>"]+)[>"])");
    for (const auto& entry : fs::recursive_directory_iterator(include_root / "nnlite")) {
        if (!entry.is_regular_file()) continue;
        const std::string ext = entry.path().extension().string();
        if (ext != ".hpp" && ext != ".cuh") continue;
        const std::string name = fs::relative(entry.path(), include_root).generic_string();
        auto& includes = graph[name];
        std::ifstream in(entry.path());
        std::string line;
        std::smatch m;
        while (std::getline(in, line))
            if (std::regex_search(line, m, include_line)) includes.push_back(m[1].str());
    }
    return graph;
}

bool contains(const std::vector<std::string>& v, const std::string& needle) {
    return std::any_of(v.begin(), v.end(),
                       [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

}  // namespace

TEST_CASE("the layering checker catches what it is there to catch") {
    SUBCASE("a clean graph passes") {
        const IncludeGraph g = {{"nnlite/core/shape.hpp", {"nnlite/core/error.hpp"}},
                                {"nnlite/core/error.hpp", {}},
                                {"nnlite/ops/lstm.hpp", {"nnlite/core/shape.hpp"}},
                                {"nnlite/nnlite.hpp", {"nnlite/ops/lstm.hpp"}}};
        CHECK(layering_violations(g).empty());
    }
    SUBCASE("an upward include") {
        const IncludeGraph g = {{"nnlite/core/tensor.hpp", {"nnlite/autograd/node.hpp"}},
                                {"nnlite/autograd/node.hpp", {}}};
        const auto v = layering_violations(g);
        REQUIRE(v.size() == 1);
        CHECK(v[0] ==
              "nnlite/core/tensor.hpp includes nnlite/autograd/node.hpp: 'autograd' is "
              "above 'core'");
    }
    SUBCASE("the contract naming a backend, and backends including each other") {
        const IncludeGraph g = {
            {"nnlite/backend/backend.hpp", {"nnlite/backend/cpu/storage.hpp"}},
            {"nnlite/backend/cpu/storage.hpp", {}},
            {"nnlite/backend/cuda/kernels.cuh", {"nnlite/backend/cpu/storage.hpp"}}};
        const auto v = layering_violations(g);
        CHECK(contains(v,
                       "backend.hpp includes nnlite/backend/cpu/storage.hpp: the backend "
                       "contract names no backend"));
        CHECK(contains(v,
                       "kernels.cuh includes nnlite/backend/cpu/storage.hpp: backends do not "
                       "include each other"));
    }
    SUBCASE("a cycle between two headers of one layer") {
        const IncludeGraph g = {{"nnlite/ops/a.hpp", {"nnlite/ops/b.hpp"}},
                                {"nnlite/ops/b.hpp", {"nnlite/ops/a.hpp"}}};
        const auto v = layering_violations(g);
        REQUIRE(v.size() == 1);
        CHECK(v[0] == "include cycle: nnlite/ops/a.hpp -> nnlite/ops/b.hpp -> nnlite/ops/a.hpp");
    }
    SUBCASE("a folder cycle between peers, without a file cycle") {
        const IncludeGraph g = {{"nnlite/io/a.hpp", {"nnlite/text/b.hpp"}},
                                {"nnlite/text/b.hpp", {}},
                                {"nnlite/text/c.hpp", {"nnlite/io/d.hpp"}},
                                {"nnlite/io/d.hpp", {}}};
        const auto v = layering_violations(g);
        REQUIRE(v.size() == 1);
        CHECK(v[0].rfind("folder cycle:", 0) == 0);
    }
    SUBCASE("a folder with no layer") {
        const IncludeGraph g = {{"nnlite/misc/thing.hpp", {}}};
        const auto v = layering_violations(g);
        REQUIRE(v.size() == 1);
        CHECK(v[0] == "nnlite/misc/thing.hpp: folder 'misc' has no layer (add it to the table)");
    }
}

TEST_CASE("include/nnlite has no upward or cyclic includes") {
    const auto graph = read_include_graph(fs::path(NNLITE_SOURCE_DIR) / "include");
    REQUIRE(graph.size() > 40);  // the tree was found and read
    REQUIRE(graph.count("nnlite/tensor/tensor.hpp") == 1);
    const auto violations = layering_violations(graph);
    for (const auto& v : violations) MESSAGE(v);
    CHECK(violations.empty());
}
