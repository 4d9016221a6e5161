// Tensors through safetensors files: saveTensors/loadTensors must be bit-exact for every dtype.
#include "core/model/torch_io.h"
#include "core/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include <unistd.h>

namespace {

std::string tempPath(const std::string& stem) {
    return (std::filesystem::temp_directory_path() /
            ("larimar_" + stem + "_" + std::to_string(::getpid()) + ".safetensors"))
        .string();
}

/// Same dtype, shape and bits (torch::equal would call NaN != NaN and -0 == 0).
void expectBitEqual(const torch::Tensor& a, const torch::Tensor& b, const std::string& name) {
    ASSERT_EQ(a.scalar_type(), b.scalar_type()) << name;
    ASSERT_EQ(a.sizes(), b.sizes()) << name;
    const auto ac = a.contiguous(), bc = b.contiguous();
    const auto n = static_cast<std::size_t>(ac.numel()) * ac.element_size();
    EXPECT_EQ(std::memcmp(ac.data_ptr(), bc.data_ptr(), n), 0) << name;
}

} // namespace

TEST(TorchIo, RoundTripIsExact) {
    torch::manual_seed(7);
    std::map<std::string, torch::Tensor> tensors;
    tensors["encoder.weight"] = torch::randn({17, 33});
    tensors["decoder.bias"] = torch::randn({5, 3, 2}).to(torch::kHalf);
    tensors["ids"] = torch::randint(-(std::int64_t{1} << 40), std::int64_t{1} << 40, {64}, torch::kLong);
    tensors["bf"] = torch::randn({4, 4}).to(torch::kBFloat16);
    tensors["double"] = torch::randn({3}, torch::kDouble);
    tensors["mask"] = torch::rand({9}) > 0.5;
    tensors["bytes"] = torch::randint(0, 256, {11}, torch::kByte);
    tensors["scalar"] = torch::tensor(2.5f);
    tensors["empty"] = torch::empty({0, 4});
    // Odd values: NaN payload, -0, infinities survive bit for bit.
    tensors["special"] = torch::tensor({std::nanf(""), -0.0f, INFINITY, -INFINITY, 1e-45f});
    // A non-contiguous view is saved as its logical contents.
    tensors["transposed"] = torch::randn({4, 6}).t();

    const auto path = tempPath("torch_io");
    const std::map<std::string, std::string> meta = {{"format", "pt"}};
    larimar::saveTensors(path, tensors, meta);
    const auto loaded = larimar::loadTensors(path);
    EXPECT_EQ(larimar::safetensors::File::open(path).metadata(), meta);
    std::filesystem::remove(path);

    ASSERT_EQ(loaded.size(), tensors.size());
    for (const auto& [name, t] : tensors) {
        ASSERT_TRUE(loaded.count(name)) << name;
        const auto& l = loaded.at(name);
        EXPECT_TRUE(l.device().is_cpu());
        EXPECT_TRUE(l.is_contiguous());
        expectBitEqual(t, l, name);
    }
}

TEST(TorchIo, ReadsFixtureValues) {
    const auto t = larimar::loadTensors(std::string(LARIMAR_TEST_DATA_DIR) + "/safetensors/valid.safetensors");
    EXPECT_TRUE(torch::equal(t.at("weight"), torch::tensor({-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}).view({2, 3})));
    EXPECT_TRUE(torch::equal(t.at("half"), torch::tensor({1.0f, -0.5f, 65504.0f, 0.0f}).view({2, 2}).to(torch::kHalf)));
    EXPECT_TRUE(torch::equal(t.at("bf"), torch::tensor({1.0f, -2.0f}).to(torch::kBFloat16)));
    EXPECT_TRUE(torch::equal(t.at("mask"), torch::tensor({true, false, true})));
    EXPECT_EQ(t.at("ids")[3].item<std::int64_t>(), std::int64_t{1} << 40);
    EXPECT_EQ(t.at("scalar").dim(), 0);
    EXPECT_DOUBLE_EQ(t.at("scalar").item<double>(), 3.25);
    EXPECT_EQ(t.at("empty").numel(), 0);
}

TEST(TorchIo, UnsupportedDtypeIsAnError) {
    EXPECT_THROW(larimar::fromTensor("c", torch::zeros({2}, torch::kComplexFloat)), larimar::Error);
    EXPECT_THROW(larimar::fromTensor("u", torch::Tensor()), larimar::Error);
}

TEST(TorchIo, BrokenFileIsUserError) {
    EXPECT_THROW(larimar::loadTensors(std::string(LARIMAR_TEST_DATA_DIR) + "/safetensors/overlapping.safetensors"),
                 larimar::UserError);
}

TEST(TorchIo, LoadsOntoCudaWhenAvailable) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    const auto path = tempPath("torch_io_cuda");
    larimar::saveTensors(path, {{"w", torch::randn({8, 8}).to(torch::kCUDA)}});
    const auto t = larimar::loadTensors(path, torch::kCUDA);
    std::filesystem::remove(path);
    EXPECT_TRUE(t.at("w").is_cuda());
}
