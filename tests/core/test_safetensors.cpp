// The safetensors reader and writer, without libtorch: round trips, the committed fixtures
// (tests/data/safetensors, made by make_fixtures.py there) and random corruption.
#include "core/model/safetensors.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <unistd.h>

namespace st = larimar::safetensors;
using ::testing::HasSubstr;

namespace {

std::string fixture(const std::string& name) {
    return std::string(LARIMAR_TEST_DATA_DIR) + "/safetensors/" + name;
}

std::vector<std::uint8_t> readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename T>
std::vector<T> valuesOf(const st::TensorView& v) {
    std::vector<T> out(v.nbytes / sizeof(T));
    if (v.nbytes) std::memcpy(out.data(), v.data, v.nbytes);
    return out;
}

std::vector<st::TensorData> toData(const st::File& f) {
    std::vector<st::TensorData> out;
    for (const auto& v : f.tensors())
        out.push_back({v.name, v.dtype, v.shape, std::vector<std::uint8_t>(v.data, v.data + v.nbytes)});
    return out;
}

std::vector<st::TensorData> randomTensors(std::mt19937& rng) {
    const st::DType all[] = {st::DType::F64, st::DType::F32, st::DType::F16, st::DType::BF16, st::DType::I64,
                             st::DType::I32, st::DType::I16, st::DType::I8,  st::DType::U8,   st::DType::BOOL};
    std::vector<st::TensorData> out;
    int i = 0;
    for (auto dtype : all) {
        st::TensorData t;
        t.name = "layer." + std::to_string(i++) + "." + st::dtypeName(dtype);
        t.dtype = dtype;
        t.shape = {static_cast<std::int64_t>(rng() % 4), static_cast<std::int64_t>(1 + rng() % 5)};
        t.bytes.resize(static_cast<std::size_t>(t.shape[0] * t.shape[1]) * st::dtypeSize(dtype));
        for (auto& b : t.bytes) b = static_cast<std::uint8_t>(rng());
        out.push_back(std::move(t));
    }
    return out;
}

/// Reads every byte of every view, so a view pointing outside the buffer shows up under ASan.
std::size_t touchAll(const st::File& f) {
    std::size_t sum = 0;
    for (const auto& v : f.tensors())
        for (std::size_t i = 0; i < v.nbytes; ++i) sum += v.data[i];
    return sum;
}

} // namespace

TEST(Safetensors, DTypeNamesAndSizes) {
    EXPECT_STREQ(st::dtypeName(st::DType::BF16), "BF16");
    EXPECT_STREQ(st::dtypeName(st::DType::BOOL), "BOOL");
    EXPECT_EQ(st::dtypeSize(st::DType::F64), 8u);
    EXPECT_EQ(st::dtypeSize(st::DType::F16), 2u);
    EXPECT_EQ(st::dtypeSize(st::DType::BOOL), 1u);
}

TEST(Safetensors, ReadsValidFixture) {
    const auto f = st::File::open(fixture("valid.safetensors"));
    ASSERT_EQ(f.tensors().size(), 7u);
    const char* order[] = {"weight", "ids", "half", "bf", "mask", "empty", "scalar"};
    for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(f.tensors()[i].name, order[i]) << "header order";
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(f.metadata().at("note"), "larimar test fixture");

    const auto& w = f.get("weight");
    EXPECT_EQ(w.dtype, st::DType::F32);
    EXPECT_EQ(w.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(valuesOf<float>(w), (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}));
    EXPECT_EQ(valuesOf<std::int64_t>(f.get("ids")), (std::vector<std::int64_t>{1, -2, 3, std::int64_t{1} << 40}));
    EXPECT_EQ(valuesOf<std::uint16_t>(f.get("half")), (std::vector<std::uint16_t>{0x3C00, 0xB800, 0x7BFF, 0x0000}));
    EXPECT_EQ(valuesOf<std::uint16_t>(f.get("bf")), (std::vector<std::uint16_t>{0x3F80, 0xC000}));
    EXPECT_EQ(valuesOf<std::uint8_t>(f.get("mask")), (std::vector<std::uint8_t>{1, 0, 1}));
    EXPECT_EQ(f.get("empty").nbytes, 0u);
    EXPECT_EQ(f.get("empty").shape, (std::vector<std::int64_t>{0}));
    EXPECT_TRUE(f.get("scalar").shape.empty());
    EXPECT_EQ(valuesOf<double>(f.get("scalar")), (std::vector<double>{3.25}));

    EXPECT_TRUE(f.contains("mask"));
    EXPECT_FALSE(f.contains("nope"));
    try {
        f.get("nope");
        FAIL() << "expected UserError";
    } catch (const larimar::UserError& e) {
        EXPECT_THAT(e.what(), HasSubstr("'nope'"));
        EXPECT_THAT(e.what(), HasSubstr("valid.safetensors"));
    }
}

// Our writer and the hand-written Python fixture agree byte for byte: same compact JSON, same
// order, same space padding.
TEST(Safetensors, SerializeReproducesFixtureExactly) {
    const auto bytes = readBytes(fixture("valid.safetensors"));
    const auto f = st::File::fromBytes(bytes, "valid");
    EXPECT_EQ(st::serialize(toData(f), f.metadata()), bytes);
}

TEST(Safetensors, RoundTripIsBitExact) {
    std::mt19937 rng(1234);
    const auto tensors = randomTensors(rng);
    const std::map<std::string, std::string> meta = {{"format", "pt"}, {"model", "larimar-tiny"}, {"ünï", "cödé"}};

    const auto bytes = st::serialize(tensors, meta);
    std::uint64_t headerLen = 0;
    std::memcpy(&headerLen, bytes.data(), 8);
    EXPECT_EQ(headerLen % 8, 0u) << "data buffer must start 8-aligned";

    const std::string path = (std::filesystem::temp_directory_path() /
                              ("larimar_st_roundtrip_" + std::to_string(::getpid()) + ".safetensors"))
                                 .string();
    st::write(path, tensors, meta);
    EXPECT_EQ(readBytes(path), bytes) << "write() and serialize() must agree";

    auto f = st::File::open(path);
    std::filesystem::remove(path);
    ASSERT_EQ(f.tensors().size(), tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& v = f.tensors()[i];
        EXPECT_EQ(v.name, tensors[i].name);
        EXPECT_EQ(v.dtype, tensors[i].dtype);
        EXPECT_EQ(v.shape, tensors[i].shape);
        EXPECT_EQ(std::vector<std::uint8_t>(v.data, v.data + v.nbytes), tensors[i].bytes);
    }
    EXPECT_EQ(f.metadata(), meta);

    // Views survive a move of the File (the buffer moves with it).
    const auto* before = f.tensors()[1].data;
    st::File moved = std::move(f);
    EXPECT_EQ(moved.tensors()[1].data, before);
    EXPECT_EQ(std::vector<std::uint8_t>(moved.get(tensors[1].name).data,
                                        moved.get(tensors[1].name).data + tensors[1].bytes.size()),
              tensors[1].bytes);
}

TEST(Safetensors, EmptyTensorListRoundTrips) {
    const auto bytes = st::serialize({});
    const auto f = st::File::fromBytes(bytes, "empty list");
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, WriterRejectsBadInput) {
    st::TensorData a{"a", st::DType::F32, {2}, std::vector<std::uint8_t>(8)};
    st::TensorData wrongSize{"b", st::DType::F32, {3}, std::vector<std::uint8_t>(8)};
    st::TensorData reserved{"__metadata__", st::DType::U8, {1}, {0}};
    st::TensorData negative{"n", st::DType::U8, {-1}, {}};
    EXPECT_THROW(st::serialize({a, a}), larimar::Error);
    EXPECT_THROW(st::serialize({wrongSize}), larimar::Error);
    EXPECT_THROW(st::serialize({reserved}), larimar::Error);
    EXPECT_THROW(st::serialize({negative}), larimar::Error);
    EXPECT_THROW(st::serialize({st::TensorData{"bad\xff", st::DType::U8, {1}, {0}}}), larimar::Error);
}

TEST(Safetensors, FailedWriteLeavesNothingBehind) {
    const auto dir = std::filesystem::temp_directory_path() / "larimar_st_no_such_dir";
    std::filesystem::remove_all(dir);
    EXPECT_THROW(st::write((dir / "x.safetensors").string(), {}), larimar::Error);
    EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(Safetensors, OpenMissingFileNamesThePath) {
    try {
        st::File::open(fixture("does_not_exist.safetensors"));
        FAIL() << "expected UserError";
    } catch (const larimar::UserError& e) {
        EXPECT_THAT(e.what(), HasSubstr("does_not_exist.safetensors"));
    }
    EXPECT_THROW(st::File::open(fixture("")), larimar::UserError) << "a directory is not a file";
}

struct BrokenCase {
    const char* file;
    const char* problem; ///< a phrase the message must contain
};

class BrokenFixture : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenFixture, GivesUserErrorNamingTheProblem) {
    const auto& c = GetParam();
    try {
        st::File::open(fixture(c.file));
        FAIL() << c.file << " was accepted";
    } catch (const larimar::UserError& e) {
        EXPECT_THAT(e.what(), HasSubstr(c.file)) << "the message names the file";
        EXPECT_THAT(e.what(), HasSubstr(c.problem));
    }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BrokenFixture,
    ::testing::Values(BrokenCase{"empty.safetensors", "the file is empty"},
                      BrokenCase{"too_short.safetensors", "too short"},
                      BrokenCase{"truncated_header.safetensors", "truncated"},
                      BrokenCase{"truncated_data.safetensors", "beyond the data buffer"},
                      BrokenCase{"garbled_json.safetensors", "not valid JSON"},
                      BrokenCase{"huge_header_length.safetensors", "larger than the limit"},
                      BrokenCase{"header_not_object.safetensors", "does not start with '{'"},
                      BrokenCase{"invalid_utf8_name.safetensors", "not valid JSON"},
                      BrokenCase{"wrong_dtype.safetensors", "unsupported dtype 'F33'"},
                      BrokenCase{"shape_mismatch.safetensors", "shape mismatch"},
                      BrokenCase{"negative_dim.safetensors", "negative dimension"},
                      BrokenCase{"shape_overflow.safetensors", "overflows"},
                      BrokenCase{"offsets_out_of_range.safetensors", "beyond the data buffer"},
                      BrokenCase{"offsets_reversed.safetensors", "before begin"},
                      BrokenCase{"offsets_not_pair.safetensors", "\"data_offsets\" is not [begin, end]"},
                      BrokenCase{"overlapping.safetensors", "overlap"},
                      BrokenCase{"gap.safetensors", "gap of 4 bytes"},
                      BrokenCase{"trailing_bytes.safetensors", "4 trailing bytes"},
                      BrokenCase{"duplicate_name.safetensors", "'a' appears twice"},
                      BrokenCase{"metadata_not_string.safetensors", "metadata value for 'epoch' is not a string"}),
    [](const ::testing::TestParamInfo<BrokenCase>& info) {
        std::string n = info.param.file;
        return n.substr(0, n.find('.'));
    });

// Random damage to a valid file: the reader either accepts it (and every view stays inside the
// buffer) or throws larimar::Error. Anything else (a crash, std::out_of_range, a JSON exception)
// fails the test.
TEST(Safetensors, RandomCorruptionNeverCrashes) {
    const auto good = readBytes(fixture("valid.safetensors"));
    ASSERT_FALSE(good.empty());
    std::mt19937 rng(20240601);
    int accepted = 0, rejected = 0;
    for (int iter = 0; iter < 2000; ++iter) {
        auto bytes = good;
        const int mode = iter % 4;
        if (mode == 0 || mode == 3) { // flip a few random bytes, anywhere
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
        }
        if (mode == 1 || mode == 3) // truncate
            bytes.resize(rng() % bytes.size());
        if (mode == 2) { // damage the header length or the header text specifically
            const std::size_t pos = rng() % 64 < 8 ? rng() % 8 : 8 + rng() % 480;
            bytes[pos] = static_cast<std::uint8_t>(rng());
        }
        try {
            const auto f = st::File::fromBytes(std::move(bytes), "fuzz");
            touchAll(f);
            for (const auto& v : f.tensors()) {
                std::size_t n = st::dtypeSize(v.dtype);
                for (auto d : v.shape) n *= static_cast<std::size_t>(d);
                ASSERT_EQ(n, v.nbytes);
            }
            ++accepted;
        } catch (const larimar::Error&) {
            ++rejected;
        }
    }
    EXPECT_GT(rejected, 1000);
    RecordProperty("accepted", accepted);
}
