// `imdb_example train`: the metrics and resume helpers shared by both backends, and the
// dispatch on --device (the loop itself is train_impl.hpp). A CUDA build compiles this file
// with nvcc so that nnlite::dispatch can reach nnlite::cuda.
#include <fstream>
#include <sstream>

#include <nnlite/device.hpp>
#include "app/train_impl.hpp"

namespace imdb {

namespace train_detail {

std::string epoch_json(const EpochRecord& r) {
    nlohmann::json j = {{"epoch", r.epoch},
                        {"train_loss", r.train_loss},
                        {"train_accuracy", r.train_accuracy},
                        {"learning_rate", r.learning_rate},
                        {"seconds", r.seconds},
                        {"skipped_steps", r.skipped_steps}};
    if (r.val_loss) j["val_loss"] = *r.val_loss;
    if (r.val_accuracy) j["val_accuracy"] = *r.val_accuracy;
    return j.dump();
}

std::vector<EpochRecord> read_metrics(const std::string& path, int up_to_epoch) {
    std::vector<EpochRecord> out;
    std::ifstream in(path);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        try {
            auto j = nlohmann::json::parse(line);
            EpochRecord r;
            r.epoch = j.at("epoch").get<int>();
            r.train_loss = j.at("train_loss").get<double>();
            r.train_accuracy = j.at("train_accuracy").get<double>();
            r.learning_rate = j.at("learning_rate").get<double>();
            r.seconds = j.at("seconds").get<double>();
            if (j.contains("val_loss")) r.val_loss = j["val_loss"].get<double>();
            if (j.contains("val_accuracy")) r.val_accuracy = j["val_accuracy"].get<double>();
            if (j.contains("skipped_steps"))
                r.skipped_steps = j["skipped_steps"].get<std::int64_t>();
            if (r.epoch <= up_to_epoch) out.push_back(r);
        } catch (const nlohmann::json::exception& e) {
            throw nnlite::FormatError(path + ":" + std::to_string(n) +
                                      ": invalid metrics line: " + e.what());
        }
    }
    return out;
}

void write_metrics(const std::string& path, const std::vector<EpochRecord>& history) {
    std::string s;
    for (const auto& r : history) s += epoch_json(r) + "\n";
    write_text_file(path, s);
}

void restore_generator(nnlite::Generator& g, const std::string& text, const std::string& path) {
    std::istringstream is(text);
    std::uint64_t seed = 0, offset = 0;
    check<nnlite::FormatError>(static_cast<bool>(is >> seed >> offset), path,
                               ": bad generator state '", text, "'");
    g.set_state(seed, offset);
}

Config resumed_config(Config saved, const TrainArgs& args, const std::string& config_path) {
    const nlohmann::json given = args.config.to_json(), kept = saved.to_json();
    for (const auto& key : args.overridden) {
        if (key == "epochs") {
            saved.epochs = args.config.epochs;
            continue;
        }
        if (key == "skip_nonfinite") {  // e.g. to get past a run that stopped at the limit
            saved.skip_nonfinite = args.config.skip_nonfinite;
            continue;
        }
        std::string flag = "--" + key;
        std::replace(flag.begin(), flag.end(), '_', '-');
        check<nnlite::ValueError>(given.at(key) == kept.at(key), "--resume continues the run with ",
                                  config_path, ": ", flag, " ", given.at(key).dump(),
                                  " differs from the saved ", kept.at(key).dump(),
                                  " (only --epochs and --skip-nonfinite may change when "
                                  "resuming)");
    }
    return saved;
}

}  // namespace train_detail

namespace {

int train_with(const TrainArgs& args, const Ranks& ranks) {
    return nnlite::dispatch(args.device, [&](auto backend) {
        return train_on<decltype(backend)>(args, nnlite::describe(args.device), ranks);
    });
}

}  // namespace

int run_train(const TrainArgs& args) {
#ifdef NNLITE_IMDB_WITH_MPI
    // Started by mpirun/mpiexec/srun: one rank of a data-parallel job. Any exception on any
    // rank prints "rank N: ..." and ends the whole job at once (MPI_Abort), non-zero.
    if (launched_by_mpi()) {
        nnlite::distributed::ProcessGroup pg;
        return nnlite::distributed::run_or_abort(pg, [&] {
            const Ranks ranks(pg);
            nnlite::check<nnlite::ValueError>(
                !ranks.distributed() || args.device == nnlite::Device::cpu,
                "training on several MPI ranks runs on the CPU backend only (--device cpu)");
            return train_with(args, ranks);
        });
    }
#endif
    return train_with(args, Ranks{});
}

}  // namespace imdb
