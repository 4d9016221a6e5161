#pragma once
/// Between safetensors files (core/model/safetensors.h, torch-free) and libtorch tensors.
/// The one way this project loads and saves tensors: no pickle, no TorchScript, so loading a
/// model file never runs code. Uses only APIs stable from libtorch 1.13 to 2.x.
#include "core/model/safetensors.h"

#include <torch/types.h>

#include <map>
#include <string>

namespace larimar {

/// Copies a view into a new contiguous CPU tensor of the matching dtype (F16 -> kHalf,
/// BF16 -> kBFloat16, BOOL -> kBool, ...). Cost: one allocation and a memcpy of view.nbytes.
torch::Tensor toTensor(const safetensors::TensorView& view);

/// A contiguous little-endian CPU copy of t (moved off the GPU first if needed), ready for
/// safetensors::write. Throws larimar::Error for dtypes the format here lacks (complex, uint16...).
safetensors::TensorData fromTensor(const std::string& name, const torch::Tensor& t);

/// Reads and validates a safetensors file, then copies every tensor to device.
/// Peak memory: the file's size plus the tensors. Throws larimar::UserError for a missing or
/// invalid file (message names file and problem).
std::map<std::string, torch::Tensor> loadTensors(const std::string& path, torch::Device device = torch::kCPU);

/// Writes tensors (in name order) atomically; see safetensors::write. Peak memory: one CPU copy
/// of all tensors. Throws larimar::Error on an unsupported dtype or an I/O failure.
void saveTensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                 const std::map<std::string, std::string>& metadata = {});

} // namespace larimar
