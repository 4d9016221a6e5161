#include "core/model/gguf.h"

#include "core/util/error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The format is little-endian and the kernels below read it in place.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.cpp assumes a little-endian host"
#endif

// Bit-exactness with ggml's reference kernels needs a*b - c to round twice, as written; a fused
// multiply-add rounds once. Only a build that enables FMA (-march=native) could contract.
#if defined(__FMA__) && defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__FMA__) && defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace larimar::gguf {
namespace {

constexpr std::uint64_t kDefaultAlignment = 32;
constexpr std::uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;            // real files nest at most one level
constexpr std::uint64_t kMaxAlignment = 1ull << 30;

struct TypeInfo {
    std::uint32_t type;
    const char* name;
    std::uint64_t blockElements;  // 0: a retired type, no longer readable
    std::uint64_t blockBytes;
};
// ggml's type_traits (ggml.c / ggml-common.h). Q8_1 is two halves and 32 int8 (36 bytes); older
// gguf-py tables say 40, from when its scales were floats.
constexpr TypeInfo kTypes[] = {
    {F32, "F32", 1, 4},          {F16, "F16", 1, 2},          {Q4_0, "Q4_0", 32, 18},
    {Q4_1, "Q4_1", 32, 20},      {4, "Q4_2", 0, 0},           {5, "Q4_3", 0, 0},
    {Q5_0, "Q5_0", 32, 22},      {Q5_1, "Q5_1", 32, 24},      {Q8_0, "Q8_0", 32, 34},
    {Q8_1, "Q8_1", 32, 36},      {Q2_K, "Q2_K", 256, 84},     {Q3_K, "Q3_K", 256, 110},
    {Q4_K, "Q4_K", 256, 144},    {Q5_K, "Q5_K", 256, 176},    {Q6_K, "Q6_K", 256, 210},
    {Q8_K, "Q8_K", 256, 292},    {IQ2_XXS, "IQ2_XXS", 256, 66}, {IQ2_XS, "IQ2_XS", 256, 74},
    {IQ3_XXS, "IQ3_XXS", 256, 98}, {IQ1_S, "IQ1_S", 256, 50}, {IQ4_NL, "IQ4_NL", 32, 18},
    {IQ3_S, "IQ3_S", 256, 110},  {IQ2_S, "IQ2_S", 256, 82},   {IQ4_XS, "IQ4_XS", 256, 136},
    {I8, "I8", 1, 1},            {I16, "I16", 1, 2},          {I32, "I32", 1, 4},
    {I64, "I64", 1, 8},          {F64, "F64", 1, 8},          {IQ1_M, "IQ1_M", 256, 56},
    {BF16, "BF16", 1, 2},        {31, "Q4_0_4_4", 0, 0},      {32, "Q4_0_4_8", 0, 0},
    {33, "Q4_0_8_8", 0, 0},      {TQ1_0, "TQ1_0", 256, 54},   {TQ2_0, "TQ2_0", 256, 66},
    {36, "IQ4_NL_4_4", 0, 0},    {37, "IQ4_NL_4_8", 0, 0},    {38, "IQ4_NL_8_8", 0, 0},
    {MXFP4, "MXFP4", 32, 17},
};

const TypeInfo* typeInfo(std::uint32_t type) {
    for (const auto& t : kTypes)
        if (t.type == type) return &t;
    return nullptr;
}

constexpr const char* kValueTypeNames[] = {"uint8", "int8",  "uint16", "int16",  "uint32", "int32", "float32",
                                           "bool",  "string", "array", "uint64", "int64",  "float64"};
constexpr std::uint32_t kValueTypeCount = sizeof(kValueTypeNames) / sizeof(kValueTypeNames[0]);

/// "unknown(N)" strings live in a map whose nodes never move, so the pointers stay valid; capped
/// so that asking about a million garbage numbers cannot grow it without bound.
const char* unknownName(const char* prefix, std::uint32_t n) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, std::uint32_t>, std::string> names;
    std::lock_guard<std::mutex> lock(mutex);
    const auto key = std::make_pair(std::string(prefix), n);
    auto it = names.find(key);
    if (it != names.end()) return it->second.c_str();
    if (names.size() >= 1024) return "unknown";
    return names.emplace(key, "unknown(" + std::to_string(n) + ")").first->second.c_str();
}

/// Minimum bytes an array element of this value type takes in the file: what bounds a count.
std::uint64_t minValueBytes(std::uint32_t vt) {
    switch (static_cast<ValueType>(vt)) {
    case ValueType::Uint8: case ValueType::Int8: case ValueType::Bool: return 1;
    case ValueType::Uint16: case ValueType::Int16: return 2;
    case ValueType::Uint32: case ValueType::Int32: case ValueType::Float32: return 4;
    case ValueType::Uint64: case ValueType::Int64: case ValueType::Float64: return 8;
    case ValueType::String: return 8;   // the length
    case ValueType::Array: return 12;   // element type and count
    }
    return 1;
}

/// Printable rendering of a name from the file, for messages: control and non-ASCII bytes
/// become '?', and very long names are cut.
std::string printable(const std::string& s) {
    std::string out = s.substr(0, 200);
    for (auto& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    if (s.size() > 200) out += "...";
    return "'" + out + "'";
}

std::string dimsText(const std::vector<std::uint64_t>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

/// Bounds-checked little-endian reads over the mapping. Every read checks the bytes that remain
/// first, so nothing past the end is ever touched.
class Cursor {
public:
    Cursor(const std::uint8_t* base, std::uint64_t size, const std::string& path)
        : m_base(base), m_size(size), m_path(path) {}

    std::uint64_t pos() const { return m_pos; }
    std::uint64_t remaining() const { return m_size - m_pos; }

    UserError fail(const std::string& why) const {
        return UserError(m_path + ": not a valid GGUF file: " + why);
    }

    void need(std::uint64_t n, const char* what) const {
        if (n > remaining())
            throw fail(std::string("the file is truncated: ") + what + " at byte " + std::to_string(m_pos) +
                       " needs " + std::to_string(n) + " bytes but only " + std::to_string(remaining()) +
                       " remain");
    }
    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, m_base + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    std::string readString(const char* what) {
        const auto at = m_pos;
        const auto len = read<std::uint64_t>(what);
        if (len > remaining())
            throw fail(std::string(what) + " at byte " + std::to_string(at) + " claims " + std::to_string(len) +
                       " bytes but only " + std::to_string(remaining()) + " remain in the file");
        std::string s(reinterpret_cast<const char*>(m_base + m_pos), static_cast<std::size_t>(len));
        m_pos += len;
        return s;
    }

private:
    const std::uint8_t* m_base;
    std::uint64_t m_size;
    std::uint64_t m_pos = 0;
    const std::string& m_path;
};

nlohmann::json readValue(Cursor& c, std::uint32_t vt, const std::string& key, int depth,
                         std::uint32_t* elementType) {
    using nlohmann::json;
    switch (static_cast<ValueType>(vt)) {
    case ValueType::Uint8: return json(c.read<std::uint8_t>("a uint8 value"));
    case ValueType::Int8: return json(c.read<std::int8_t>("an int8 value"));
    case ValueType::Uint16: return json(c.read<std::uint16_t>("a uint16 value"));
    case ValueType::Int16: return json(c.read<std::int16_t>("an int16 value"));
    case ValueType::Uint32: return json(c.read<std::uint32_t>("a uint32 value"));
    case ValueType::Int32: return json(c.read<std::int32_t>("an int32 value"));
    case ValueType::Uint64: return json(c.read<std::uint64_t>("a uint64 value"));
    case ValueType::Int64: return json(c.read<std::int64_t>("an int64 value"));
    case ValueType::Float32: return json(static_cast<double>(c.read<float>("a float32 value")));
    case ValueType::Float64: return json(c.read<double>("a float64 value"));
    case ValueType::Bool: {
        const auto at = c.pos();
        const auto b = c.read<std::uint8_t>("a bool value");
        if (b > 1)
            throw c.fail("bool value of " + printable(key) + " at byte " + std::to_string(at) + " is " +
                         std::to_string(b) + ", not 0 or 1");
        return json(b == 1);
    }
    case ValueType::String: return json(c.readString("a string value"));
    case ValueType::Array: {
        if (depth >= kMaxArrayDepth)
            throw c.fail("the value of " + printable(key) + " nests arrays more than " +
                         std::to_string(kMaxArrayDepth) + " deep");
        const auto at = c.pos();
        const auto et = c.read<std::uint32_t>("an array element type");
        if (et >= kValueTypeCount)
            throw c.fail("array " + printable(key) + " at byte " + std::to_string(at) + " has unknown element type " +
                         std::to_string(et));
        if (elementType) *elementType = et;
        const auto n = c.read<std::uint64_t>("an array length");
        // Each element takes at least minValueBytes in the file, so a count the rest of the file
        // cannot hold is a lie; checking it first keeps the allocation in proportion to the file.
        if (n > c.remaining() / minValueBytes(et))
            throw c.fail("array " + printable(key) + " at byte " + std::to_string(at) + " claims " +
                         std::to_string(n) + " " + kValueTypeNames[et] + " elements but only " +
                         std::to_string(c.remaining()) + " bytes remain in the file");
        json arr = json::array();
        arr.get_ref<json::array_t&>().reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) arr.push_back(readValue(c, et, key, depth + 1, nullptr));
        return arr;
    }
    }
    throw c.fail("key " + printable(key) + " has unknown value type " + std::to_string(vt));
}

// ---------------------------------------------------------------------------------------------
// Dequantisation kernels: one per type, over whole blocks, following ggml-quants.c's
// dequantize_row_* operation for operation (same products, same order, float32 throughout).

inline std::uint16_t u16(const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline float bitsToFloat(std::uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

/// IEEE half to float, exact. NaNs keep their payload and come back quiet.
inline float halfToFloat(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return bitsToFloat(sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0u));
    if (exp != 0) return bitsToFloat(sign | ((exp + 112u) << 23) | (mant << 13));
    if (mant == 0) return bitsToFloat(sign);
    // Subnormal: shift the leading one up to the implicit bit, lowering the exponent per shift.
    std::uint32_t e = 113;
    while (!(mant & 0x400u)) {
        mant <<= 1;
        --e;
    }
    return bitsToFloat(sign | (e << 23) | ((mant & 0x3ffu) << 13));
}
inline float bf16ToFloat(std::uint16_t h) { return bitsToFloat(static_cast<std::uint32_t>(h) << 16); }

void deqF32(const std::uint8_t* x, float* y, std::uint64_t n) { std::memcpy(y, x, n * 4); }
void deqF16(const std::uint8_t* x, float* y, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) y[i] = halfToFloat(u16(x + 2 * i));
}
void deqBF16(const std::uint8_t* x, float* y, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) y[i] = bf16ToFloat(u16(x + 2 * i));
}

// block_q4_0 { half d; uint8 qs[16]; }: low nibbles are elements 0..15, high nibbles 16..31.
void deqQ4_0(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 18, y += 32) {
        const float d = halfToFloat(u16(x));
        const std::uint8_t* qs = x + 2;
        for (int j = 0; j < 16; ++j) {
            const int x0 = (qs[j] & 0x0F) - 8;
            const int x1 = (qs[j] >> 4) - 8;
            y[j] = static_cast<float>(x0) * d;
            y[j + 16] = static_cast<float>(x1) * d;
        }
    }
}
// block_q4_1 { half d, m; uint8 qs[16]; }
void deqQ4_1(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 20, y += 32) {
        const float d = halfToFloat(u16(x));
        const float m = halfToFloat(u16(x + 2));
        const std::uint8_t* qs = x + 4;
        for (int j = 0; j < 16; ++j) {
            const int x0 = qs[j] & 0x0F;
            const int x1 = qs[j] >> 4;
            y[j] = static_cast<float>(x0) * d + m;
            y[j + 16] = static_cast<float>(x1) * d + m;
        }
    }
}
// block_q5_0 { half d; uint8 qh[4]; uint8 qs[16]; }: bit j of qh is the fifth bit of element j.
void deqQ5_0(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 22, y += 32) {
        const float d = halfToFloat(u16(x));
        std::uint32_t qh;
        std::memcpy(&qh, x + 2, 4);
        const std::uint8_t* qs = x + 6;
        for (int j = 0; j < 16; ++j) {
            const std::uint32_t xh0 = ((qh >> j) << 4) & 0x10u;
            const std::uint32_t xh1 = (qh >> (j + 12)) & 0x10u;
            const int x0 = static_cast<int>((qs[j] & 0x0Fu) | xh0) - 16;
            const int x1 = static_cast<int>((qs[j] >> 4) | xh1) - 16;
            y[j] = static_cast<float>(x0) * d;
            y[j + 16] = static_cast<float>(x1) * d;
        }
    }
}
// block_q5_1 { half d, m; uint8 qh[4]; uint8 qs[16]; }
void deqQ5_1(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 24, y += 32) {
        const float d = halfToFloat(u16(x));
        const float m = halfToFloat(u16(x + 2));
        std::uint32_t qh;
        std::memcpy(&qh, x + 4, 4);
        const std::uint8_t* qs = x + 8;
        for (int j = 0; j < 16; ++j) {
            const std::uint32_t xh0 = ((qh >> j) << 4) & 0x10u;
            const std::uint32_t xh1 = (qh >> (j + 12)) & 0x10u;
            const int x0 = static_cast<int>((qs[j] & 0x0Fu) | xh0);
            const int x1 = static_cast<int>((qs[j] >> 4) | xh1);
            y[j] = static_cast<float>(x0) * d + m;
            y[j + 16] = static_cast<float>(x1) * d + m;
        }
    }
}
// block_q8_0 { half d; int8 qs[32]; }
void deqQ8_0(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 34, y += 32) {
        const float d = halfToFloat(u16(x));
        const auto* qs = reinterpret_cast<const std::int8_t*>(x + 2);
        for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
    }
}

/// The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K/Q5_K.
inline void scaleMinK4(int j, const std::uint8_t* q, std::uint8_t& d, std::uint8_t& m) {
    if (j < 4) {
        d = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}
// block_q4_K { half d, dmin; uint8 scales[12]; uint8 qs[128]; }: 8 sub-blocks of 32; each 32
// bytes of qs hold two sub-blocks, low nibbles first.
void deqQ4_K(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 144) {
        const float d = halfToFloat(u16(x));
        const float min = halfToFloat(u16(x + 2));
        const std::uint8_t* scales = x + 4;
        const std::uint8_t* q = x + 16;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
            std::uint8_t sc, m;
            scaleMinK4(is, scales, sc, m);
            const float d1 = d * static_cast<float>(sc);
            const float m1 = min * static_cast<float>(m);
            scaleMinK4(is + 1, scales, sc, m);
            const float d2 = d * static_cast<float>(sc);
            const float m2 = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}
// block_q5_K { half d, dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]; }: as Q4_K, with
// bit j of qh[l] the fifth bit of element l of sub-block j.
void deqQ5_K(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 176) {
        const float d = halfToFloat(u16(x));
        const float min = halfToFloat(u16(x + 2));
        const std::uint8_t* scales = x + 4;
        const std::uint8_t* qh = x + 16;
        const std::uint8_t* ql = x + 48;
        std::uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32) {
            std::uint8_t sc, m;
            scaleMinK4(is, scales, sc, m);
            const float d1 = d * static_cast<float>(sc);
            const float m1 = min * static_cast<float>(m);
            scaleMinK4(is + 1, scales, sc, m);
            const float d2 = d * static_cast<float>(sc);
            const float m2 = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            u1 = static_cast<std::uint8_t>(u1 << 2);
            u2 = static_cast<std::uint8_t>(u2 << 2);
        }
    }
}
// block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; }: two halves of 128,
// each from 64 bytes of ql (low 4 bits), 32 of qh (high 2 bits) and 8 scales.
void deqQ6_K(const std::uint8_t* x, float* y, std::uint64_t nb) {
    for (std::uint64_t i = 0; i < nb; ++i, x += 210) {
        const float d = halfToFloat(u16(x + 208));
        const std::uint8_t* ql = x;
        const std::uint8_t* qh = x + 128;
        const auto* sc = reinterpret_cast<const std::int8_t*>(x + 192);
        for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = static_cast<int>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = static_cast<int>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = static_cast<int>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = static_cast<int>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
                y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
                y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
                y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
            }
        }
    }
}

using Kernel = void (*)(const std::uint8_t*, float*, std::uint64_t);

/// The kernel of a type (nullptr if none); it takes a count of blocks.
Kernel kernelFor(std::uint32_t type) {
    switch (type) {
    case F32: return deqF32;
    case F16: return deqF16;
    case BF16: return deqBF16;
    case Q4_0: return deqQ4_0;
    case Q4_1: return deqQ4_1;
    case Q5_0: return deqQ5_0;
    case Q5_1: return deqQ5_1;
    case Q8_0: return deqQ8_0;
    case Q4_K: return deqQ4_K;
    case Q5_K: return deqQ5_K;
    case Q6_K: return deqQ6_K;
    default: return nullptr;
    }
}

/// Runs kernel over nb blocks, split across threads when there is enough work to pay for them.
void runKernel(Kernel kernel, const std::uint8_t* x, float* y, std::uint64_t nb, std::uint64_t blockElems,
               std::uint64_t blockBytes) {
    constexpr std::uint64_t kElementsPerThread = 1u << 21;
    const std::uint64_t elements = nb * blockElems;
    unsigned threads = std::min(std::thread::hardware_concurrency(), 8u);
    threads = static_cast<unsigned>(std::min<std::uint64_t>(threads, elements / kElementsPerThread));
    if (threads < 2) {
        kernel(x, y, nb);
        return;
    }
    std::vector<std::thread> pool;
    const std::uint64_t per = (nb + threads - 1) / threads;
    std::uint64_t begin = 0;
    try {
        for (unsigned t = 1; t < threads && begin + per < nb; ++t, begin += per)
            pool.emplace_back(kernel, x + begin * blockBytes, y + begin * blockElems, per);
    } catch (const std::system_error&) {
        // Could not start another thread: do the rest here.
    }
    kernel(x + begin * blockBytes, y + begin * blockElems, nb - begin);
    for (auto& th : pool) th.join();
}

} // namespace

// ---------------------------------------------------------------------------------------------

const char* typeName(std::uint32_t type) {
    if (const auto* t = typeInfo(type)) return t->name;
    return unknownName("type", type);
}

const char* valueTypeName(std::uint32_t valueType) {
    if (valueType < kValueTypeCount) return kValueTypeNames[valueType];
    return unknownName("value", valueType);
}

bool canDequantize(std::uint32_t type) { return kernelFor(type) != nullptr; }

bool blockLayout(std::uint32_t type, std::uint64_t& blockElements, std::uint64_t& blockBytes) {
    const auto* t = typeInfo(type);
    if (!t || t->blockElements == 0) return false;
    blockElements = t->blockElements;
    blockBytes = t->blockBytes;
    return true;
}

File::File(File&& other) noexcept
    : m_path(std::move(other.m_path)), m_base(other.m_base), m_size(other.m_size), m_version(other.m_version),
      m_alignment(other.m_alignment), m_dataOffset(other.m_dataOffset), m_metadata(std::move(other.m_metadata)),
      m_types(std::move(other.m_types)), m_arrayTypes(std::move(other.m_arrayTypes)),
      m_tensors(std::move(other.m_tensors)), m_index(std::move(other.m_index)) {
    other.m_base = nullptr;
    other.m_size = 0;
}

File& File::operator=(File&& other) noexcept {
    if (this != &other) {
        release();
        m_path = std::move(other.m_path);
        m_base = other.m_base;
        m_size = other.m_size;
        m_version = other.m_version;
        m_alignment = other.m_alignment;
        m_dataOffset = other.m_dataOffset;
        m_metadata = std::move(other.m_metadata);
        m_types = std::move(other.m_types);
        m_arrayTypes = std::move(other.m_arrayTypes);
        m_tensors = std::move(other.m_tensors);
        m_index = std::move(other.m_index);
        other.m_base = nullptr;
        other.m_size = 0;
    }
    return *this;
}

File::~File() { release(); }

void File::release() noexcept {
    if (m_base) munmap(const_cast<std::uint8_t*>(m_base), static_cast<std::size_t>(m_size));
    m_base = nullptr;
    m_size = 0;
}

File File::open(const std::string& path) {
    File f;
    f.m_path = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw UserError("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw UserError("cannot open " + path + ": " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw UserError("cannot open " + path + ": not a regular file");
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        throw UserError(path + ": not a valid GGUF file: the file is empty");
    }
    if (size > std::numeric_limits<std::size_t>::max()) {
        ::close(fd);
        throw UserError("cannot map " + path + ": the file is too large for this machine's address space");
    }
    void* p = mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);  // the mapping keeps the file open
    if (p == MAP_FAILED) throw UserError("cannot map " + path + ": " + std::strerror(err));
    f.m_base = static_cast<const std::uint8_t*>(p);
    f.m_size = size;

    Cursor c(f.m_base, size, f.m_path);
    // The header.
    c.need(4, "the magic number");
    if (std::memcmp(f.m_base, "GGUF", 4) != 0) throw c.fail("it does not start with the magic bytes \"GGUF\"");
    c.read<std::uint32_t>("the magic number");
    const auto version = c.read<std::uint32_t>("the version");
    if (version == 1)
        throw c.fail("GGUF version 1 is not supported (only 2 and 3); convert the file with a current llama.cpp");
    if (version != 2 && version != 3) {
        if ((version & 0xFFFFu) == 0 && (version >> 16) != 0)
            throw c.fail("the file is big-endian (version field " + std::to_string(version) +
                         "); only little-endian GGUF files are supported");
        throw c.fail("unsupported GGUF version " + std::to_string(version) + " (supported: 2 and 3)");
    }
    f.m_version = version;
    const auto tensorCount = c.read<std::uint64_t>("the tensor count");
    const auto kvCount = c.read<std::uint64_t>("the metadata count");
    // A key/value takes at least 13 bytes (key length, type, a one-byte value); a tensor info
    // at least 24 (name length, n_dims, type, offset). Counts beyond that are not in this file.
    if (kvCount > c.remaining() / 13)
        throw c.fail("the header claims " + std::to_string(kvCount) + " metadata entries but only " +
                     std::to_string(c.remaining()) + " bytes follow");
    if (tensorCount > c.remaining() / 24)
        throw c.fail("the header claims " + std::to_string(tensorCount) + " tensors but only " +
                     std::to_string(c.remaining()) + " bytes follow");

    // The key/values.
    for (std::uint64_t i = 0; i < kvCount; ++i) {
        const auto at = c.pos();
        std::string key = c.readString("a metadata key");
        if (key.empty()) throw c.fail("metadata entry " + std::to_string(i) + " at byte " + std::to_string(at) +
                                      " has an empty key");
        if (f.m_metadata.count(key)) throw c.fail("metadata key " + printable(key) + " appears twice");
        const auto vt = c.read<std::uint32_t>("a metadata value type");
        if (vt >= kValueTypeCount)
            throw c.fail("metadata key " + printable(key) + " has unknown value type " + std::to_string(vt));
        std::uint32_t elementType = 0;
        nlohmann::json value = readValue(c, vt, key, 0, &elementType);
        f.m_types.emplace(key, vt);
        if (vt == static_cast<std::uint32_t>(ValueType::Array)) f.m_arrayTypes.emplace(key, elementType);
        f.m_metadata.emplace(std::move(key), std::move(value));
    }

    // general.alignment: any integer type, a power of two.
    if (const auto* a = f.find("general.alignment")) {
        if (!a->is_number_integer())
            throw c.fail("general.alignment is a " + std::string(valueTypeName(f.metadataType("general.alignment"))) +
                         ", not an integer");
        const bool negative = !a->is_number_unsigned() && a->get<std::int64_t>() < 0;
        const std::uint64_t v = negative ? 0 : a->get<std::uint64_t>();
        if (v == 0 || (v & (v - 1)) != 0 || v > kMaxAlignment)
            throw c.fail("general.alignment is " + a->dump() + "; it must be a power of two up to 2^30");
        f.m_alignment = v;
    }

    // The tensor infos.
    f.m_tensors.reserve(static_cast<std::size_t>(tensorCount));
    f.m_index.reserve(static_cast<std::size_t>(tensorCount));
    std::vector<std::uint64_t> relative;  // offsets as stored, relative to the data section
    relative.reserve(static_cast<std::size_t>(tensorCount));
    for (std::uint64_t i = 0; i < tensorCount; ++i) {
        TensorInfo t;
        const auto at = c.pos();
        t.name = c.readString("a tensor name");
        const std::string what = "tensor " + printable(t.name);
        if (t.name.empty())
            throw c.fail("tensor info " + std::to_string(i) + " at byte " + std::to_string(at) + " has an empty name");
        if (f.m_index.count(t.name)) throw c.fail("two tensors are named " + printable(t.name));
        const auto nDims = c.read<std::uint32_t>("a tensor's dimension count");
        if (nDims > kMaxDims)
            throw c.fail(what + " has " + std::to_string(nDims) + " dimensions; ggml allows at most " +
                         std::to_string(kMaxDims));
        t.dims.resize(nDims);
        for (auto& d : t.dims) d = c.read<std::uint64_t>("a tensor dimension");
        t.type = c.read<std::uint32_t>("a tensor type");
        const auto rel = c.read<std::uint64_t>("a tensor offset");

        const auto* ti = typeInfo(t.type);
        if (!ti) throw c.fail(what + " has unknown type " + typeName(t.type));
        if (ti->blockElements == 0)
            throw c.fail(what + " has type " + typeName(t.type) +
                         ", which ggml no longer supports; re-quantise the model with a current llama.cpp");
        // Elements and bytes, overflow-checked against the int64 range (what shapes elsewhere use).
        constexpr std::uint64_t kLimit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        // A zero dimension does not excuse the others: the product of the non-zero ones must fit.
        std::uint64_t elements = 1, nonZero = 1;
        for (const auto d : t.dims) {
            if (d > kLimit || (d != 0 && nonZero > kLimit / d))
                throw c.fail(what + " has dimensions " + dimsText(t.dims) + " whose product overflows");
            if (d != 0) nonZero *= d;
            elements *= d;
        }
        const std::uint64_t rowLength = t.dims.empty() ? 1 : t.dims[0];
        if (rowLength % ti->blockElements != 0)
            throw c.fail(what + " of type " + typeName(t.type) + " has rows of " + std::to_string(rowLength) +
                         " elements, not a multiple of its block size " + std::to_string(ti->blockElements));
        const std::uint64_t blocks = elements / ti->blockElements;
        if (blocks != 0 && ti->blockBytes > kLimit / blocks)
            throw c.fail(what + " with dimensions " + dimsText(t.dims) + " would take more bytes than fit in 64 bits");
        t.elements = elements;
        t.bytes = blocks * ti->blockBytes;
        if (rel % f.m_alignment != 0)
            throw c.fail(what + " has data offset " + std::to_string(rel) + ", not a multiple of the alignment " +
                         std::to_string(f.m_alignment));
        relative.push_back(rel);
        f.m_index.emplace(t.name, f.m_tensors.size());
        f.m_tensors.push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment (pos <= size, so no overflow).
    const std::uint64_t headerEnd = c.pos();
    const std::uint64_t dataStart = (headerEnd + f.m_alignment - 1) / f.m_alignment * f.m_alignment;
    f.m_dataOffset = dataStart;
    const std::uint64_t dataSize = dataStart <= size ? size - dataStart : 0;
    for (std::size_t i = 0; i < f.m_tensors.size(); ++i) {
        auto& t = f.m_tensors[i];
        const auto rel = relative[i];
        if (t.bytes != 0 && (dataStart > size || rel > dataSize || t.bytes > dataSize - rel))
            throw c.fail("the file is truncated: tensor " + printable(t.name) + " needs bytes [" + std::to_string(rel) +
                         ", " + std::to_string(rel) + " + " + std::to_string(t.bytes) + ") of the data section, which holds " +
                         std::to_string(dataSize) + " bytes");
        t.offset = dataStart + std::min(rel, dataSize);
    }
    // No two tensors may share bytes.
    std::vector<std::size_t> order(f.m_tensors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return f.m_tensors[a].offset < f.m_tensors[b].offset; });
    const TensorInfo* prev = nullptr;
    for (const auto i : order) {
        const auto& t = f.m_tensors[i];
        if (t.bytes == 0) continue;
        if (prev && prev->offset + prev->bytes > t.offset)
            throw c.fail("the data of tensors " + printable(prev->name) + " and " + printable(t.name) + " overlap");
        prev = &t;
    }
    return f;
}

const nlohmann::json* File::find(const std::string& key) const {
    const auto it = m_metadata.find(key);
    return it == m_metadata.end() ? nullptr : &it->second;
}

std::uint32_t File::metadataType(const std::string& key) const {
    const auto it = m_types.find(key);
    if (it == m_types.end()) throw UserError(m_path + ": no metadata key " + printable(key));
    return it->second;
}

std::uint32_t File::arrayElementType(const std::string& key) const {
    const auto it = m_arrayTypes.find(key);
    if (it == m_arrayTypes.end())
        throw UserError(m_path + ": metadata key " + printable(key) +
                        (m_types.count(key) ? " is not an array" : " is not in the file"));
    return it->second;
}

std::string File::getString(const std::string& key) const {
    const auto vt = metadataType(key);
    if (vt != static_cast<std::uint32_t>(ValueType::String))
        throw UserError(m_path + ": metadata key " + printable(key) + " is a " + valueTypeName(vt) +
                        ", not a string");
    return m_metadata.at(key).get<std::string>();
}

std::int64_t File::getInt(const std::string& key) const {
    const auto vt = metadataType(key);
    const auto& v = m_metadata.at(key);
    if (!v.is_number_integer())
        throw UserError(m_path + ": metadata key " + printable(key) + " is a " + valueTypeName(vt) +
                        ", not an integer");
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw UserError(m_path + ": metadata key " + printable(key) + " is " + v.dump() + ", beyond the int64 range");
    return v.get<std::int64_t>();
}

double File::getFloat(const std::string& key) const {
    const auto vt = metadataType(key);
    const auto& v = m_metadata.at(key);
    if (!v.is_number())
        throw UserError(m_path + ": metadata key " + printable(key) + " is a " + valueTypeName(vt) + ", not a number");
    return v.get<double>();
}

const TensorInfo* File::findTensor(const std::string& name) const {
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

void File::checkInFile(const TensorInfo& t) const {
    std::uint64_t be = 0, bb = 0;
    const bool known = blockLayout(t.type, be, bb);
    const bool consistent = known && t.elements % be == 0 && t.bytes == t.elements / be * bb;
    if (!consistent || !m_base || t.offset > m_size || t.bytes > m_size - t.offset)
        throw UserError(m_path + ": tensor " + printable(t.name) + " (" + typeName(t.type) + ", " +
                        std::to_string(t.bytes) + " bytes at " + std::to_string(t.offset) +
                        ") does not describe data inside this file");
}

const std::uint8_t* File::data(const TensorInfo& t) const {
    checkInFile(t);
    return m_base + t.offset;
}

void File::dequantize(const TensorInfo& t, float* out) const {
    const Kernel kernel = kernelFor(t.type);
    if (!kernel)
        throw UserError(m_path + ": tensor " + printable(t.name) + " has type " + typeName(t.type) +
                        ", which this reader cannot dequantize (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                        "Q5_1, Q4_K, Q5_K and Q6_K); re-quantise the model to one of those");
    checkInFile(t);
    std::uint64_t be = 0, bb = 0;
    blockLayout(t.type, be, bb);
    runKernel(kernel, m_base + t.offset, out, t.elements / be, be, bb);
}

std::vector<float> File::dequantize(const TensorInfo& t) const {
    if (!canDequantize(t.type)) dequantize(t, nullptr);  // throws before anything is allocated
    checkInFile(t);  // t.elements is then bounded by the file size
    std::vector<float> out(static_cast<std::size_t>(t.elements));
    dequantize(t, out.data());
    return out;
}

} // namespace larimar::gguf
