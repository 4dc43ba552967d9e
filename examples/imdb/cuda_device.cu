// The CUDA side of imdb_example (built when NNLITE_WITH_CUDA is on): `train` and the
// inference model instantiated for nnlite::cuda. Everything else in the program is plain
// C++ and reaches the GPU only through these functions (device.hpp).
#include <nnlite/cuda.hpp>
#include <string>

#include "device.hpp"
#include "inference.hpp"
#include "train_impl.hpp"

namespace imdb {

bool built_with_cuda() {
    return true;
}

std::string require_cuda() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        (void)cudaGetLastError();
        throw nnlite::Error(
            std::string("--device cuda: no usable CUDA device on this machine (") +
            (status != cudaSuccess ? cudaGetErrorString(status) : "no device found") +
            "); use --device cpu");
    }
    cudaDeviceProp prop{};
    nnlite::cuda_detail::check_cuda(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    return prop.name;
}

int run_train_cuda(const TrainArgs& args) {
    const std::string gpu = require_cuda();
    return train_on<nnlite::cuda>(args, "cuda (" + gpu + ")");
}

std::unique_ptr<InferenceModel> make_cuda_inference_model(
    const Config& c, std::size_t vocab_size, const nnlite::nn::StateDict<float>& weights) {
    require_cuda();
    auto m = std::make_unique<InferenceModelOn<nnlite::cuda>>(c, vocab_size);
    m->load(weights);
    return m;
}

}  // namespace imdb
