#include "core/model/safetensors.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// The format stores little-endian data and this code hands the bytes to tensors unchanged.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp assumes a little-endian host"
#endif

namespace larimar::safetensors {
namespace {

using Json = nlohmann::ordered_json;

/// The reference implementation's limit; a larger header is an attack or garbage.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeInfo {
    DType dtype;
    const char* name;
    std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
    for (const auto& d : kDTypes)
        if (d.dtype == dtype) return d;
    throw Error("safetensors: invalid DType value " + std::to_string(static_cast<int>(dtype)));
}

bool parseDType(const std::string& name, DType& out) {
    for (const auto& d : kDTypes) {
        if (name == d.name) {
            out = d.dtype;
            return true;
        }
    }
    return false;
}

std::string shapeText(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

/// Bytes a tensor of this dtype and shape needs; false on overflow (the reference rejects it
/// even when a later dimension is 0, so do we).
bool byteCount(const std::vector<std::int64_t>& shape, std::size_t elemSize, std::size_t& out) {
    std::size_t n = 1;
    for (auto d : shape) {
        if (d < 0) return false;
        const auto ud = static_cast<std::size_t>(d);
        if (ud != 0 && n > std::numeric_limits<std::size_t>::max() / ud) return false;
        n *= ud;
    }
    if (n > std::numeric_limits<std::size_t>::max() / elemSize) return false;
    out = n * elemSize;
    return true;
}

/// nlohmann's messages start with "[json.exception.parse_error.101] "; a person needs the rest.
std::string jsonMessage(const std::exception& e) {
    std::string what = e.what();
    if (!what.empty() && what[0] == '[') {
        const auto end = what.find("] ");
        if (end != std::string::npos) what.erase(0, end + 2);
    }
    // The parser quotes the bytes it choked on; from a garbled file those are often not text.
    for (auto& c : what)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return what;
}

std::string inQuotes(const std::string& s) { return "'" + s + "'"; }

} // namespace

std::size_t dtypeSize(DType dtype) { return info(dtype).size; }
const char* dtypeName(DType dtype) { return info(dtype).name; }

// ---------------------------------------------------------------------------------------------
// Reading

const TensorView& File::get(const std::string& name) const {
    const auto it = m_index.find(name);
    if (it == m_index.end())
        throw UserError(m_name + ": no tensor named " + inQuotes(name) + " (the file has " +
                        std::to_string(m_tensors.size()) + " tensors)");
    return m_tensors[it->second];
}

namespace {

constexpr std::uintmax_t kHeaderFirstBytes = 64u << 20;

/// Reads only the 8-byte length and the JSON header of a safetensors file of `size` bytes and
/// checks that the tensors it lists end exactly at the end of the file (the format leaves no
/// unindexed bytes). UserError otherwise.
void checkHeaderAgainstSize(std::ifstream& in, const std::string& path, std::uintmax_t size) {
    const auto fail = [&path](const std::string& why) {
        return UserError(path + ": not a valid safetensors file: " + why);
    };
    unsigned char len[8];
    if (!in.read(reinterpret_cast<char*>(len), 8)) throw fail("cannot read the header length");
    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | len[i];
    if (headerLen == 0) throw fail("the header is empty");
    if (headerLen > kMaxHeaderBytes)
        throw fail("header length " + std::to_string(headerLen) + " bytes is larger than the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes");
    if (headerLen > size - 8)
        throw fail("the file is truncated: header length is " + std::to_string(headerLen) + " bytes but only " +
                   std::to_string(size - 8) + " bytes follow");
    std::string text(static_cast<std::size_t>(headerLen), '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(headerLen))) throw fail("cannot read the header");
    const auto header = Json::parse(text, nullptr, false);
    if (header.is_discarded() || !header.is_object()) throw fail("the header is not a JSON object");
    std::uint64_t end = 0;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == kMetadataKey || !it.value().is_object()) continue;
        const auto off = it.value().find("data_offsets");
        if (off == it.value().end() || !off->is_array() || off->size() != 2 || !(*off)[1].is_number_unsigned())
            throw fail("tensor " + inQuotes(it.key()) + ": missing or invalid \"data_offsets\"");
        end = std::max(end, (*off)[1].get<std::uint64_t>());
    }
    const std::uint64_t data = size - 8 - headerLen;
    if (end != data)
        throw fail("the file holds " + std::to_string(data) + " bytes of tensor data but its header describes " +
                   std::to_string(end) + " (a damaged, padded or sparse file)");
}

} // namespace

File File::open(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        throw UserError("cannot open " + path + ": " + (ec ? ec.message() : "no such file"));
    if (!fs::is_regular_file(status)) throw UserError("cannot open " + path + ": not a regular file");
    const auto size = fs::file_size(path, ec);
    if (ec) throw UserError("cannot open " + path + ": " + ec.message());

    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError("cannot open " + path + ": " + std::strerror(errno));
    // A large file is judged by its header before it is read whole: a sparse 64 GB file, or one
    // whose header describes far less (or more) than it holds, must not cost a file-sized
    // allocation first. Small files take the one path below, for its finer messages.
    if (size > kHeaderFirstBytes) checkHeaderAgainstSize(in, path, size);
    in.seekg(0);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    // A file that shrinks between file_size() and read() reads short; treat it like truncation.
    if (!in || static_cast<std::uint64_t>(in.gcount()) != size)
        throw UserError("cannot read " + path + ": read failed or the file changed while reading");
    return fromBytes(std::move(bytes), path);
}

File File::fromBytes(std::vector<std::uint8_t> bytes, std::string nameForMessages) {
    File f;
    f.m_bytes = std::move(bytes);
    f.m_name = std::move(nameForMessages);
    const std::string& name = f.m_name;
    const auto fail = [&name](const std::string& why) {
        return UserError(name + ": not a valid safetensors file: " + why);
    };

    const std::size_t fileSize = f.m_bytes.size();
    if (fileSize == 0) throw fail("the file is empty");
    if (fileSize < 8)
        throw fail("the file is too short (" + std::to_string(fileSize) +
                   " bytes) to hold the 8-byte header length");

    std::uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | f.m_bytes[static_cast<std::size_t>(i)];
    if (headerLen > kMaxHeaderBytes)
        throw fail("header length " + std::to_string(headerLen) + " bytes is larger than the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes");
    if (headerLen > fileSize - 8)
        throw fail("the file is truncated: header length is " + std::to_string(headerLen) +
                   " bytes but only " + std::to_string(fileSize - 8) + " bytes follow");
    if (headerLen == 0) throw fail("the header is empty");

    const auto* headerBegin = f.m_bytes.data() + 8;
    const auto* headerEnd = headerBegin + headerLen;
    // The reference insists on '{' first, which also rejects leading whitespace and BOMs.
    if (*headerBegin != '{') throw fail("the header does not start with '{'");

    // Duplicate names would silently shadow each other in a JSON object; the parser callback
    // sees every key, so count the top-level ones.
    std::set<std::string> seen;
    std::string duplicate;
    const Json::parser_callback_t onEvent = [&](int depth, Json::parse_event_t event, Json& parsed) {
        if (depth == 1 && event == Json::parse_event_t::key && duplicate.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!seen.insert(key).second) duplicate = key;
        }
        return true;
    };
    Json header;
    try {
        header = Json::parse(headerBegin, headerEnd, onEvent);
    } catch (const nlohmann::json::exception& e) {
        throw fail("the header is not valid JSON (" + jsonMessage(e) + ")");
    }
    if (!header.is_object()) throw fail("the header is not a JSON object");
    if (!duplicate.empty()) throw fail("tensor name " + inQuotes(duplicate) + " appears twice in the header");

    const std::size_t bufferSize = fileSize - 8 - static_cast<std::size_t>(headerLen);
    const std::uint8_t* buffer = headerEnd;

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& key = it.key();
        const Json& value = it.value();
        if (key == kMetadataKey) {
            if (value.is_null()) continue;
            if (!value.is_object()) throw fail("\"__metadata__\" is not a JSON object");
            for (auto m = value.begin(); m != value.end(); ++m) {
                if (!m.value().is_string())
                    throw fail("metadata value for " + inQuotes(m.key()) + " is not a string");
                f.m_metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }

        const std::string where = "tensor " + inQuotes(key);
        if (!value.is_object()) throw fail(where + ": entry is not a JSON object");

        const auto dt = value.find("dtype");
        if (dt == value.end() || !dt->is_string()) throw fail(where + ": missing or non-string \"dtype\"");
        TensorView view;
        view.name = key;
        if (!parseDType(dt->get<std::string>(), view.dtype))
            throw fail(where + ": unknown or unsupported dtype " + inQuotes(dt->get<std::string>()));

        const auto sh = value.find("shape");
        if (sh == value.end() || !sh->is_array()) throw fail(where + ": missing or non-array \"shape\"");
        for (const auto& d : *sh) {
            if (d.is_number_integer() && !d.is_number_unsigned())
                throw fail(where + ": shape has a negative dimension (" + d.dump() + ")");
            if (!d.is_number_unsigned()) throw fail(where + ": shape dimension " + d.dump() + " is not an integer");
            const auto ud = d.get<std::uint64_t>();
            if (ud > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                throw fail(where + ": shape dimension " + d.dump() + " is too large");
            view.shape.push_back(static_cast<std::int64_t>(ud));
        }
        std::size_t expected = 0;
        if (!byteCount(view.shape, dtypeSize(view.dtype), expected))
            throw fail(where + ": shape " + shapeText(view.shape) + " overflows the element count");

        const auto off = value.find("data_offsets");
        if (off == value.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned())
            throw fail(where + ": \"data_offsets\" is not [begin, end] with non-negative integers");
        const auto begin = (*off)[0].get<std::uint64_t>();
        const auto end = (*off)[1].get<std::uint64_t>();
        if (end < begin)
            throw fail(where + ": data_offsets end " + std::to_string(end) + " is before begin " +
                       std::to_string(begin));
        if (end > bufferSize)
            throw fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] reach beyond the data buffer (" + std::to_string(bufferSize) +
                       " bytes): the file is truncated or the offsets are wrong");
        view.nbytes = static_cast<std::size_t>(end - begin);
        if (view.nbytes != expected)
            throw fail(where + ": shape " + shapeText(view.shape) + " of dtype " + dtypeName(view.dtype) +
                       " needs " + std::to_string(expected) + " bytes but data_offsets span " +
                       std::to_string(view.nbytes) + " (shape mismatch)");
        view.data = buffer + begin;
        f.m_index.emplace(view.name, f.m_tensors.size());
        f.m_tensors.push_back(std::move(view));
    }

    // The reference requires the tensors to tile the buffer exactly: no overlap (one tensor's
    // write would change another), no holes (room to hide data), nothing trailing.
    std::vector<const TensorView*> byOffset;
    byOffset.reserve(f.m_tensors.size());
    for (const auto& t : f.m_tensors) byOffset.push_back(&t);
    std::sort(byOffset.begin(), byOffset.end(), [](const TensorView* a, const TensorView* b) {
        return a->data != b->data ? a->data < b->data : a->nbytes < b->nbytes;
    });
    std::size_t covered = 0;
    const TensorView* previous = nullptr;
    for (const TensorView* t : byOffset) {
        const auto begin = static_cast<std::size_t>(t->data - buffer);
        if (begin < covered)
            throw fail("tensors " + inQuotes(previous->name) + " and " + inQuotes(t->name) +
                       " overlap (bytes " + std::to_string(begin) + " to " + std::to_string(covered) +
                       " of the data buffer)");
        if (begin > covered)
            throw fail("the data buffer has a gap of " + std::to_string(begin - covered) + " bytes at offset " +
                       std::to_string(covered) + " (before tensor " + inQuotes(t->name) + ")");
        covered = begin + t->nbytes;
        previous = t;
    }
    if (covered != bufferSize)
        throw fail("the data buffer has " + std::to_string(bufferSize - covered) +
                   " trailing bytes that no tensor covers");
    return f;
}

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

/// Checks the tensors and builds the padded header. Throws larimar::Error on bad input: it is
/// the caller's data, not a file the user handed us.
std::string buildHeader(const std::vector<TensorData>& tensors, const std::map<std::string, std::string>& metadata) {
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& [k, v] : metadata) meta[k] = v;
        header[kMetadataKey] = std::move(meta);
    }
    std::unordered_set<std::string> names;
    std::uint64_t offset = 0;
    for (const auto& t : tensors) {
        if (t.name == kMetadataKey) throw Error("safetensors: \"__metadata__\" cannot be a tensor name");
        if (!names.insert(t.name).second) throw Error("safetensors: tensor name " + inQuotes(t.name) + " used twice");
        std::size_t expected = 0;
        if (!byteCount(t.shape, dtypeSize(t.dtype), expected) || expected != t.bytes.size())
            throw Error("safetensors: tensor " + inQuotes(t.name) + " has " + std::to_string(t.bytes.size()) +
                        " bytes but shape " + shapeText(t.shape) + " of dtype " + dtypeName(t.dtype) +
                        " needs " + std::to_string(expected));
        header[t.name] = Json{{"dtype", dtypeName(t.dtype)},
                              {"shape", t.shape},
                              {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        throw Error("safetensors: a tensor name or metadata string is not valid UTF-8 (" + jsonMessage(e) + ")");
    }
    // Pad so the data buffer starts 8-aligned, with spaces as the reference writer does.
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

void appendLength(std::string& out, std::uint64_t n) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

/// Writes all of data to fd, retrying short writes and EINTR. False on error (errno set).
bool writeAll(int fd, const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

std::vector<std::uint8_t> serialize(const std::vector<TensorData>& tensors,
                                    const std::map<std::string, std::string>& metadata) {
    const std::string header = buildHeader(tensors, metadata);
    std::size_t total = 8 + header.size();
    for (const auto& t : tensors) total += t.bytes.size();
    std::vector<std::uint8_t> out;
    out.reserve(total);
    std::string prefix;
    appendLength(prefix, header.size());
    out.insert(out.end(), prefix.begin(), prefix.end());
    out.insert(out.end(), header.begin(), header.end());
    for (const auto& t : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return out;
}

void write(const std::string& path, const std::vector<TensorData>& tensors,
           const std::map<std::string, std::string>& metadata) {
    std::string head;
    const std::string header = buildHeader(tensors, metadata);
    appendLength(head, header.size());
    head += header;

    // Unique per process and call, so two writers of the same path never share a temp file.
    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw Error("cannot write " + path + ": " + std::strerror(errno));
    const auto failWith = [&](int err) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return Error("cannot write " + path + ": " + std::strerror(err));
    };
    if (!writeAll(fd, head.data(), head.size())) throw failWith(errno);
    for (const auto& t : tensors)
        if (!writeAll(fd, t.bytes.data(), t.bytes.size())) throw failWith(errno);
    // Without fsync a crash after rename can leave an empty file under the final name.
    if (::fsync(fd) != 0) throw failWith(errno);
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("cannot write " + path + ": " + std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("cannot write " + path + ": " + std::strerror(err));
    }
}

} // namespace larimar::safetensors
