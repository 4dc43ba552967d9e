// Where the tensors live: `--device cpu` (default) or `--device cuda`. The CUDA side is one
// translation unit compiled by nvcc (cuda_device.cu) when the build has the CUDA backend;
// otherwise no_cuda.cpp provides the same functions, which explain that the build lacks it.
#pragma once

#include <cstddef>
#include <memory>
#include <nnlite/nn/module.hpp>
#include <string>

#include "config.hpp"

namespace imdb {

enum class Device { cpu, cuda };

/// "cpu" or "cuda"; anything else is a ValueError naming the option.
Device parse_device(const std::string& name);
const char* device_name(Device d);

class InferenceModel;
struct TrainArgs;

/// Whether this imdb_example was built with the CUDA backend.
bool built_with_cuda();
/// Throws a one-line nnlite::Error when --device cuda cannot work here: a build without
/// CUDA, or no usable device (no driver, no GPU). Otherwise names the GPU ("NVIDIA H100 ...").
std::string require_cuda();

/// `train` with every tensor on the GPU (train.cpp's loop, instantiated for nnlite::cuda).
int run_train_cuda(const TrainArgs& args);
/// A trained model on the GPU; `weights` were already validated on the CPU.
std::unique_ptr<InferenceModel> make_cuda_inference_model(
    const Config& c, std::size_t vocab_size, const nnlite::nn::StateDict<float>& weights);

}  // namespace imdb
