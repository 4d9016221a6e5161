#pragma once
/// The safetensors file format, read and written without libtorch (core/model/torch_io.h turns
/// views into tensors). Layout: an 8-byte little-endian header length N, N bytes of JSON
/// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then
/// the raw little-endian data buffer that the offsets index.
///
/// Loading a model file never runs code, so the reader trusts nothing in it: every length,
/// offset, shape and dtype is checked before a byte of data is looked at, and any problem is a
/// larimar::UserError that names the file and what is wrong. Accepted files are exactly those
/// the reference implementation (huggingface/safetensors) accepts, restricted to the dtypes below.
///
/// Thread safety: a File is immutable after construction; concurrent reads are fine.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace larimar::safetensors {

/// Element types this project reads and writes (a subset of the format's).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

/// Bytes per element (BOOL is one byte).
std::size_t dtypeSize(DType dtype);
/// The name the format uses in the header: "F32", "BF16", "BOOL", ...
const char* dtypeName(DType dtype);

/// One tensor inside a File: the bytes are borrowed from the File and live as long as it does.
/// data is not aligned to the element size; copy it (memcpy) before reading it as numbers.
struct TensorView {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    const std::uint8_t* data;
    std::size_t nbytes;
};

/// A parsed, validated safetensors file. Owns its bytes; movable (views stay valid, the buffer
/// moves with it), not copyable.
class File {
public:
    /// Reads the whole file into memory (one read, file-sized allocation) and validates it.
    /// Throws larimar::UserError with the path and the reason if it cannot be read or is invalid.
    static File open(const std::string& path);
    /// Validates bytes already in memory. nameForMessages stands in for the path in errors.
    static File fromBytes(std::vector<std::uint8_t> bytes, std::string nameForMessages);

    File(File&&) noexcept = default;
    File& operator=(File&&) noexcept = default;
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    /// All tensors, in the order the header lists them.
    const std::vector<TensorView>& tensors() const { return m_tensors; }
    /// O(1).
    bool contains(const std::string& name) const { return m_index.count(name) != 0; }
    /// O(1). Throws larimar::UserError naming the tensor and the file if it is not there.
    const TensorView& get(const std::string& name) const;
    /// The optional "__metadata__" string map (empty if the file has none).
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    /// The path (or nameForMessages) used in error messages.
    const std::string& name() const { return m_name; }

private:
    File() = default;
    std::vector<std::uint8_t> m_bytes;
    std::string m_name;
    std::vector<TensorView> m_tensors;
    std::unordered_map<std::string, std::size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

/// One tensor to write: bytes must hold product(shape) * dtypeSize(dtype) little-endian bytes.
struct TensorData {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;
};

/// Writes a safetensors file atomically (temporary file in the same folder, fsync, rename), so a
/// failure leaves the old file, if any, untouched. Tensors are laid out in the given order; the
/// header is padded with spaces to a multiple of 8 bytes as the reference writer does, so the data
/// buffer starts 8-aligned. Streams the tensors (no second copy of the data in memory).
/// Throws larimar::Error for invalid input (duplicate or reserved names, size/shape mismatch)
/// or an I/O failure.
void write(const std::string& path, const std::vector<TensorData>& tensors,
           const std::map<std::string, std::string>& metadata = {});

/// The same bytes write() puts in a file, in memory.
std::vector<std::uint8_t> serialize(const std::vector<TensorData>& tensors,
                                    const std::map<std::string, std::string>& metadata = {});

} // namespace larimar::safetensors
