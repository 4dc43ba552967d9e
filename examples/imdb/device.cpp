// --device parsing, and the CUDA entry points of a build without the CUDA backend (with
// it, cuda_device.cu defines them and NNLITE_IMDB_WITH_CUDA is set).
#include "device.hpp"

#include <nnlite/core/error.hpp>

#include "commands.hpp"
#include "inference.hpp"

namespace imdb {

Device parse_device(const std::string& name) {
    if (name == "cpu") return Device::cpu;
    if (name == "cuda") return Device::cuda;
    throw nnlite::ValueError("--device: unknown device '" + name + "' (choose cpu or cuda)");
}

const char* device_name(Device d) {
    return d == Device::cuda ? "cuda" : "cpu";
}

#ifndef NNLITE_IMDB_WITH_CUDA

bool built_with_cuda() {
    return false;
}

std::string require_cuda() {
    throw nnlite::Error(
        "--device cuda: this imdb_example was built without the CUDA backend (configure with "
        "-DNNLITE_WITH_CUDA=ON on a machine with the CUDA toolkit, or use --device cpu)");
}

int run_train_cuda(const TrainArgs&) {
    require_cuda();
    return 1;
}

std::unique_ptr<InferenceModel> make_cuda_inference_model(const Config&, std::size_t,
                                                          const nnlite::nn::StateDict<float>&) {
    require_cuda();
    return nullptr;
}

#endif

}  // namespace imdb
