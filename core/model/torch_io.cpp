#include "core/model/torch_io.h"

#include "core/util/error.h"

#include <torch/torch.h>

#include <cstring>

namespace larimar {
namespace {

at::ScalarType scalarType(safetensors::DType dtype) {
    using safetensors::DType;
    switch (dtype) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
    }
    throw Error("safetensors: invalid DType value " + std::to_string(static_cast<int>(dtype)));
}

bool fromScalarType(at::ScalarType type, safetensors::DType& out) {
    using safetensors::DType;
    switch (type) {
    case at::kDouble: out = DType::F64; return true;
    case at::kFloat: out = DType::F32; return true;
    case at::kHalf: out = DType::F16; return true;
    case at::kBFloat16: out = DType::BF16; return true;
    case at::kLong: out = DType::I64; return true;
    case at::kInt: out = DType::I32; return true;
    case at::kShort: out = DType::I16; return true;
    case at::kChar: out = DType::I8; return true;
    case at::kByte: out = DType::U8; return true;
    case at::kBool: out = DType::BOOL; return true;
    default: return false;
    }
}

} // namespace

torch::Tensor toTensor(const safetensors::TensorView& view) {
    // empty + memcpy rather than from_blob: the view's bytes need not be aligned to the element
    // size (the format only aligns the buffer start), and the copy must own its memory anyway.
    auto t = torch::empty(at::IntArrayRef(view.shape), torch::TensorOptions().dtype(scalarType(view.dtype)));
    const auto expected = static_cast<std::size_t>(t.numel()) * t.element_size();
    if (expected != view.nbytes)
        throw Error("tensor '" + view.name + "': " + std::to_string(view.nbytes) + " bytes for " +
                    std::to_string(expected) + " expected");
    if (view.nbytes != 0) std::memcpy(t.data_ptr(), view.data, view.nbytes);
    return t;
}

safetensors::TensorData fromTensor(const std::string& name, const torch::Tensor& t) {
    safetensors::TensorData out;
    out.name = name;
    if (!t.defined()) throw Error("cannot save tensor '" + name + "': it is undefined");
    if (!fromScalarType(t.scalar_type(), out.dtype))
        throw Error(std::string("cannot save tensor '") + name + "': dtype " + c10::toString(t.scalar_type()) +
                    " has no safetensors equivalent here");
    const auto cpu = t.detach().to(torch::kCPU).contiguous();
    out.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
    out.bytes.resize(static_cast<std::size_t>(cpu.numel()) * cpu.element_size());
    if (!out.bytes.empty()) std::memcpy(out.bytes.data(), cpu.data_ptr(), out.bytes.size());
    return out;
}

std::map<std::string, torch::Tensor> loadTensors(const std::string& path, torch::Device device) {
    const auto file = safetensors::File::open(path);
    std::map<std::string, torch::Tensor> out;
    for (const auto& view : file.tensors()) {
        auto t = toTensor(view);
        out.emplace(view.name, device.is_cpu() ? t : t.to(device));
    }
    return out;
}

void saveTensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                 const std::map<std::string, std::string>& metadata) {
    std::vector<safetensors::TensorData> data;
    data.reserve(tensors.size());
    for (const auto& [name, t] : tensors) data.push_back(fromTensor(name, t));
    safetensors::write(path, data, metadata);
}

} // namespace larimar
