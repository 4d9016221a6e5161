#pragma once
/// The GGUF file format (llama.cpp / ggml model files), read without libtorch.
/// Layout: "GGUF", uint32 version (2 or 3), uint64 tensor count, uint64 key/value count, the
/// key/values, the tensor infos (name, n_dims, dims innermost first, type, offset), padding to
/// the alignment, then the data section that the tensor offsets index. All little-endian.
///
/// The file is memory-mapped read-only, never read whole. The reader trusts nothing in it: every
/// count, length, offset and size is checked against the file size with overflow-safe arithmetic
/// before it is used or anything is allocated for it, so a truncated, garbled or hostile file is a
/// larimar::UserError that names the file and the problem, never a crash, an out-of-bounds read
/// or an allocation out of proportion to the file. (A file truncated by another process *while*
/// it is mapped can still raise SIGBUS; nothing portable guards against that.)
///
/// dequantize() reproduces ggml's reference dequantize_row_* (ggml-quants.c) bit for bit for the
/// types canDequantize() accepts; f16 and bf16 widen exactly (an f16 signalling NaN comes back
/// quiet, as ggml's and the CPU's conversions give it).
///
/// Thread safety: a File is immutable after open(); concurrent calls on one File are fine.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace larimar::gguf {

/// ggml tensor types by their GGUF numbers.
enum Type : std::uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

/// GGUF metadata value types by their numbers (metadataType() returns the number).
enum class ValueType : std::uint32_t {
    Uint8 = 0, Int8 = 1, Uint16 = 2, Int16 = 3, Uint32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, Uint64 = 10, Int64 = 11, Float64 = 12,
};

/// "Q4_K", "F32", ...; "unknown(77)" for a number ggml does not define. The pointer stays valid
/// for the life of the program.
const char* typeName(std::uint32_t type);
/// "uint32", "string", "array", ...; "unknown(13)" otherwise. Valid for the life of the program.
const char* valueTypeName(std::uint32_t valueType);
/// True for the types dequantize() handles: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K.
bool canDequantize(std::uint32_t type);
/// Elements per block and bytes per block of a ggml type (1 and 4 for F32, 256 and 144 for Q4_K);
/// false for unknown or retired types.
bool blockLayout(std::uint32_t type, std::uint64_t& blockElements, std::uint64_t& blockBytes);

/// One tensor of a File, validated: its data lies inside the file, aligned, overlapping no other.
struct TensorInfo {
    std::string name;
    std::vector<std::uint64_t> dims;  // ggml order: dims[0] is the innermost (contiguous) one
    std::uint32_t type = 0;
    std::uint64_t offset = 0;         // absolute byte offset of the data in the file
    std::uint64_t elements = 0;
    std::uint64_t bytes = 0;
};

/// A parsed, validated, memory-mapped GGUF file. Movable (TensorInfos and data pointers stay
/// valid, the mapping moves with it), not copyable; unmaps on destruction.
class File {
public:
    /// Maps the file read-only and validates the header, all metadata and all tensor infos
    /// (cost: one pass over the header; tensor data is not touched). Throws larimar::UserError
    /// naming the file and the problem if it cannot be opened or is not a valid GGUF v2/v3 file.
    static File open(const std::string& path);

    File(File&& other) noexcept;
    File& operator=(File&& other) noexcept;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File();

    /// The path given to open(), as used in error messages.
    const std::string& path() const { return m_path; }
    /// Size of the file in bytes.
    std::uint64_t fileSize() const { return m_size; }
    /// 2 or 3.
    std::uint32_t version() const { return m_version; }
    /// general.alignment, or 32 if the file does not set it; a power of two.
    std::uint64_t alignment() const { return m_alignment; }
    /// Absolute offset of the data section (the tensor offsets in the file are relative to it).
    std::uint64_t dataOffset() const { return m_dataOffset; }

    /// All key/values. Integers, floats and bools as JSON numbers and bools, strings as JSON
    /// strings (bytes as stored: not necessarily valid UTF-8, so dump() may throw), arrays as
    /// JSON arrays (nested arrays nested).
    const std::map<std::string, nlohmann::json>& metadata() const { return m_metadata; }
    /// nullptr if the key is absent. O(log n).
    const nlohmann::json* find(const std::string& key) const;
    /// The string value of key. Throws UserError if absent or not a string.
    std::string getString(const std::string& key) const;
    /// The value of an integer key (any of the eight integer types). Throws UserError if absent,
    /// not an integer, or a uint64 above the int64 range.
    std::int64_t getInt(const std::string& key) const;
    /// The value of a float32/float64 key; integer keys are accepted too. Throws UserError if
    /// absent or of another type.
    double getFloat(const std::string& key) const;
    /// The GGUF value type number of key (9, ValueType::Array, for arrays). Throws UserError if absent.
    std::uint32_t metadataType(const std::string& key) const;
    /// The element type number of an array key (9 again for an array of arrays). Throws
    /// UserError if absent or not an array.
    std::uint32_t arrayElementType(const std::string& key) const;

    /// All tensors, in the order of the file's tensor infos.
    const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    /// nullptr if there is no tensor of that name. O(1).
    const TensorInfo* findTensor(const std::string& name) const;

    /// Writes t.elements floats to out, in ggml order (dims[0] fastest). Costs about a
    /// nanosecond per element; large tensors are split across a few threads. Throws UserError
    /// (with the type's name) for a type canDequantize() refuses, and for a TensorInfo that
    /// does not describe bytes inside this file.
    void dequantize(const TensorInfo& t, float* out) const;
    std::vector<float> dequantize(const TensorInfo& t) const;
    /// The tensor's raw bytes in the mapping (t.bytes of them; no alignment beyond the file's
    /// is guaranteed). Throws UserError if t does not lie inside this file.
    const std::uint8_t* data(const TensorInfo& t) const;

private:
    File() = default;
    void release() noexcept;
    void checkInFile(const TensorInfo& t) const;

    std::string m_path;
    const std::uint8_t* m_base = nullptr;
    std::uint64_t m_size = 0;
    std::uint32_t m_version = 0;
    std::uint64_t m_alignment = 32;
    std::uint64_t m_dataOffset = 0;
    std::map<std::string, nlohmann::json> m_metadata;
    std::map<std::string, std::uint32_t> m_types;       // key -> value type
    std::map<std::string, std::uint32_t> m_arrayTypes;  // array key -> element type
    std::vector<TensorInfo> m_tensors;
    std::unordered_map<std::string, std::size_t> m_index;
};

} // namespace larimar::gguf
