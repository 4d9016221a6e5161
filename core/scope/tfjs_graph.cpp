#include "core/scope/tfjs_graph.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <unordered_map>

namespace larimar::tfjs {

namespace fs = std::filesystem;
using json = nlohmann::json;
using torch::Tensor;

struct GraphModel::Node {
    std::string name;
    std::string op;
    std::vector<std::pair<int, int>> inputs;  // (node index, output index)
    std::unordered_map<std::string, std::int64_t> ints;
    std::unordered_map<std::string, bool> bools;
    std::unordered_map<std::string, std::string> strings;
    std::unordered_map<std::string, std::vector<std::int64_t>> lists;
    Tensor value;  // Const only

    std::int64_t intAttr(const char* key, std::int64_t fallback = 0) const {
        auto it = ints.find(key);
        return it == ints.end() ? fallback : it->second;
    }
    bool boolAttr(const char* key, bool fallback = false) const {
        auto it = bools.find(key);
        return it == bools.end() ? fallback : it->second;
    }
    std::string stringAttr(const char* key, const std::string& fallback = {}) const {
        auto it = strings.find(key);
        return it == strings.end() ? fallback : it->second;
    }
    std::vector<std::int64_t> listAttr(const char* key) const {
        auto it = lists.find(key);
        return it == lists.end() ? std::vector<std::int64_t>{} : it->second;
    }
};

namespace {

// TensorFlow DataType enum values that TF.js graph models use.
constexpr int DT_FLOAT = 1, DT_INT32 = 3, DT_INT64 = 9, DT_BOOL = 10;

torch::ScalarType scalarTypeOf(std::int64_t dt) {
    switch (dt) {
    case DT_FLOAT: return torch::kFloat;
    case DT_INT32:
    case DT_INT64: return torch::kLong;
    case DT_BOOL: return torch::kBool;
    default: throw Error("TF.js graph: unsupported data type " + std::to_string(dt));
    }
}

std::vector<std::int64_t> toInts(const Tensor& t) {
    Tensor c = t.to(torch::kLong).contiguous().reshape({-1});
    const auto* p = c.data_ptr<std::int64_t>();
    return {p, p + c.numel()};
}

std::int64_t toInt(const Tensor& t) {
    if (t.numel() != 1) throw Error("expected a scalar, got " + std::to_string(t.numel()) + " values");
    return t.to(torch::kLong).item<std::int64_t>();
}

std::int64_t normAxis(std::int64_t axis, std::int64_t rank) { return axis < 0 ? axis + rank : axis; }

std::vector<std::int64_t> normAxes(const Tensor& axes, std::int64_t rank) {
    auto v = toInts(axes);
    for (auto& a : v) a = normAxis(a, rank);
    return v;
}

/// Row-major linear index of the first k dims for an index tensor [..., k].
Tensor linearIndex(const Tensor& indices, at::IntArrayRef shape) {
    const std::int64_t k = indices.size(-1);
    Tensor lin = torch::zeros(indices.sizes().slice(0, indices.dim() - 1), torch::kLong);
    std::int64_t stride = 1;
    for (std::int64_t j = k - 1; j >= 0; --j) {
        lin = lin + indices.select(-1, j).to(torch::kLong) * stride;
        stride *= shape[static_cast<std::size_t>(j)];
    }
    return lin;
}

Tensor stridedSlice(const GraphModel::Node& n, const Tensor& x, const Tensor& beginT, const Tensor& endT,
                    const Tensor& stridesT) {
    if (n.intAttr("ellipsis_mask") != 0 || n.intAttr("new_axis_mask") != 0)
        throw Error("StridedSlice with ellipsis_mask or new_axis_mask is not supported");
    const auto begin = toInts(beginT), end = toInts(endT), strides = toInts(stridesT);
    const auto beginMask = n.intAttr("begin_mask"), endMask = n.intAttr("end_mask");
    const auto shrinkMask = n.intAttr("shrink_axis_mask");
    Tensor r = x;
    std::vector<std::int64_t> squeeze;
    for (std::size_t i = 0; i < begin.size(); ++i) {
        const auto d = static_cast<std::int64_t>(i);
        const std::int64_t dim = x.size(d);
        const std::int64_t s = strides[i];
        if (s <= 0) throw Error("StridedSlice with a stride <= 0 is not supported");
        if (shrinkMask & (1LL << i)) {
            std::int64_t b = begin[i] < 0 ? begin[i] + dim : begin[i];
            if (b < 0 || b >= dim) throw Error("StridedSlice index out of range");
            r = r.narrow(d, b, 1);
            squeeze.push_back(d);
            continue;
        }
        std::int64_t b = (beginMask & (1LL << i)) ? 0 : begin[i];
        std::int64_t e = (endMask & (1LL << i)) ? dim : end[i];
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        b = std::clamp<std::int64_t>(b, 0, dim);
        e = std::clamp<std::int64_t>(e, b, dim);
        r = r.slice(d, b, e, s);
    }
    for (auto it = squeeze.rbegin(); it != squeeze.rend(); ++it) r = r.squeeze(*it);
    return r;
}

using Inputs = std::vector<Tensor>;
using Outputs = std::vector<Tensor>;
using OpFn = std::function<Outputs(const GraphModel::Node&, const Inputs&)>;

Outputs one(Tensor t) { return {std::move(t)}; }

const std::unordered_map<std::string, OpFn>& opTable() {
    static const std::unordered_map<std::string, OpFn> table = [] {
        std::unordered_map<std::string, OpFn> t;
        auto unary = [&t](const char* name, Tensor (*f)(const Tensor&)) {
            t[name] = [f](const GraphModel::Node&, const Inputs& in) { return one(f(in.at(0))); };
        };
        unary("Identity", [](const Tensor& x) { return x; });
        unary("Sin", [](const Tensor& x) { return torch::sin(x); });
        unary("Cos", [](const Tensor& x) { return torch::cos(x); });
        unary("Square", [](const Tensor& x) { return x * x; });
        unary("Sqrt", [](const Tensor& x) { return torch::sqrt(x); });
        unary("Rsqrt", [](const Tensor& x) { return torch::rsqrt(x); });
        unary("Relu", [](const Tensor& x) { return torch::relu(x); });
        unary("Tanh", [](const Tensor& x) { return torch::tanh(x); });
        unary("LogicalNot", [](const Tensor& x) { return torch::logical_not(x); });
        unary("Softmax", [](const Tensor& x) { return torch::softmax(x, -1); });
        unary("Shape", [](const Tensor& x) { return torch::tensor(x.sizes().vec(), torch::kLong); });

        auto binary = [&t](const char* name, Tensor (*f)(const Tensor&, const Tensor&)) {
            t[name] = [f](const GraphModel::Node&, const Inputs& in) { return one(f(in.at(0), in.at(1))); };
        };
        binary("Add", [](const Tensor& a, const Tensor& b) { return a + b; });
        binary("AddV2", [](const Tensor& a, const Tensor& b) { return a + b; });
        binary("Sub", [](const Tensor& a, const Tensor& b) { return a - b; });
        binary("Mul", [](const Tensor& a, const Tensor& b) { return a * b; });
        binary("RealDiv", [](const Tensor& a, const Tensor& b) { return a / b; });
        binary("Maximum", [](const Tensor& a, const Tensor& b) { return torch::maximum(a, b); });
        binary("Less", [](const Tensor& a, const Tensor& b) { return torch::lt(a, b); });
        binary("Greater", [](const Tensor& a, const Tensor& b) { return torch::gt(a, b); });
        binary("BiasAdd", [](const Tensor& a, const Tensor& b) { return a + b; });  // NHWC checked at load

        t["Cast"] = [](const GraphModel::Node& n, const Inputs& in) {
            return one(in.at(0).to(scalarTypeOf(n.intAttr("DstT", DT_FLOAT))));
        };
        t["Where"] = [](const GraphModel::Node&, const Inputs& in) {
            if (in.size() == 3) return one(torch::where(in[0], in[1], in[2]));
            return one(torch::nonzero(in.at(0)));
        };
        t["Reshape"] = [](const GraphModel::Node&, const Inputs& in) {
            return one(in.at(0).reshape(toInts(in.at(1))));
        };
        t["ExpandDims"] = [](const GraphModel::Node&, const Inputs& in) {
            std::int64_t d = toInt(in.at(1));
            return one(in[0].unsqueeze(d < 0 ? d + in[0].dim() + 1 : d));
        };
        t["Squeeze"] = [](const GraphModel::Node& n, const Inputs& in) {
            Tensor x = in.at(0);
            auto dims = n.listAttr("squeeze_dims");
            if (dims.empty()) return one(x.squeeze());
            for (auto& d : dims) d = normAxis(d, x.dim());
            std::sort(dims.rbegin(), dims.rend());
            for (auto d : dims) x = x.squeeze(d);
            return one(x);
        };
        t["StridedSlice"] = [](const GraphModel::Node& n, const Inputs& in) {
            return one(stridedSlice(n, in.at(0), in.at(1), in.at(2), in.at(3)));
        };
        t["Transpose"] = [](const GraphModel::Node&, const Inputs& in) { return one(in.at(0).permute(toInts(in.at(1)))); };
        t["GatherV2"] = [](const GraphModel::Node& n, const Inputs& in) {
            if (n.intAttr("batch_dims") != 0) throw Error("GatherV2 with batch_dims is not supported");
            const Tensor& params = in.at(0);
            const Tensor& indices = in.at(1);
            const std::int64_t axis = normAxis(in.size() > 2 ? toInt(in[2]) : 0, params.dim());
            Tensor r = params.index_select(axis, indices.reshape({-1}).to(torch::kLong));
            std::vector<std::int64_t> shape(params.sizes().begin(), params.sizes().begin() + axis);
            for (auto s : indices.sizes()) shape.push_back(s);
            for (auto i = axis + 1; i < params.dim(); ++i) shape.push_back(params.size(i));
            return one(r.reshape(shape));
        };
        t["GatherNd"] = [](const GraphModel::Node&, const Inputs& in) {
            const Tensor& params = in.at(0);
            const Tensor& indices = in.at(1);
            const std::int64_t k = indices.size(-1);
            std::vector<std::int64_t> rest(params.sizes().begin() + k, params.sizes().end());
            std::vector<std::int64_t> flatShape{-1};
            flatShape.insert(flatShape.end(), rest.begin(), rest.end());
            Tensor lin = linearIndex(indices, params.sizes());
            Tensor r = params.reshape(flatShape).index_select(0, lin.reshape({-1}));
            std::vector<std::int64_t> shape(indices.sizes().begin(), indices.sizes().end() - 1);
            shape.insert(shape.end(), rest.begin(), rest.end());
            return one(r.reshape(shape));
        };
        t["ScatterNd"] = [](const GraphModel::Node&, const Inputs& in) {
            const Tensor& indices = in.at(0);
            const Tensor& updates = in.at(1);
            const auto shape = toInts(in.at(2));
            const std::int64_t k = indices.size(-1);
            std::vector<std::int64_t> flatShape{-1};
            flatShape.insert(flatShape.end(), shape.begin() + k, shape.end());
            Tensor out = torch::zeros(shape, updates.options());
            Tensor lin = linearIndex(indices, shape).reshape({-1});
            out.reshape(flatShape).index_add_(0, lin, updates.reshape(flatShape));  // duplicates add up
            return one(out);
        };
        t["SparseToDense"] = [](const GraphModel::Node&, const Inputs& in) {
            Tensor indices = in.at(0).to(torch::kLong);
            const auto shape = toInts(in.at(1));
            const Tensor& values = in.at(2);
            Tensor out = torch::full(shape, in.at(3).item(), values.options());
            if (indices.dim() < 2) indices = indices.reshape({-1, 1});
            if (indices.size(0) == 0) return one(out);
            Tensor lin = linearIndex(indices, shape);
            Tensor v = values.dim() == 0 ? values.expand({lin.size(0)}) : values.reshape({-1});
            out.reshape({-1}).index_copy_(0, lin, v.contiguous());
            return one(out);
        };
        auto reduction = [&t](const char* name, Tensor (*f)(const Tensor&, at::IntArrayRef, bool)) {
            t[name] = [f](const GraphModel::Node& n, const Inputs& in) {
                auto axes = normAxes(in.at(1), in.at(0).dim());
                if (axes.empty()) return one(in[0]);
                return one(f(in[0], axes, n.boolAttr("keep_dims")));
            };
        };
        reduction("Sum", [](const Tensor& x, at::IntArrayRef a, bool k) { return torch::sum(x, a, k); });
        reduction("Mean", [](const Tensor& x, at::IntArrayRef a, bool k) { return torch::mean(x, a, k); });
        reduction("Max", [](const Tensor& x, at::IntArrayRef a, bool k) { return torch::amax(x, a, k); });
        reduction("Prod", [](const Tensor& x, at::IntArrayRef a, bool k) {
            std::vector<std::int64_t> axes(a.begin(), a.end());
            std::sort(axes.rbegin(), axes.rend());
            Tensor r = x;
            for (auto d : axes) r = torch::prod(r, d, k);
            return r;
        });
        t["ConcatV2"] = [](const GraphModel::Node&, const Inputs& in) {
            std::vector<Tensor> parts(in.begin(), in.end() - 1);
            return one(torch::cat(parts, normAxis(toInt(in.back()), parts.at(0).dim())));
        };
        t["Pack"] = [](const GraphModel::Node& n, const Inputs& in) {
            std::int64_t axis = n.intAttr("axis");
            if (axis < 0) axis += in.at(0).dim() + 1;
            return one(torch::stack(in, axis));
        };
        t["SplitV"] = [](const GraphModel::Node&, const Inputs& in) {
            const Tensor& x = in.at(0);
            auto sizes = toInts(in.at(1));
            const std::int64_t axis = normAxis(toInt(in.at(2)), x.dim());
            std::int64_t known = 0, unknownAt = -1;
            for (std::size_t i = 0; i < sizes.size(); ++i) {
                if (sizes[i] < 0) unknownAt = static_cast<std::int64_t>(i);
                else known += sizes[i];
            }
            if (unknownAt >= 0) sizes[static_cast<std::size_t>(unknownAt)] = x.size(axis) - known;
            return torch::split_with_sizes(x, sizes, axis);
        };
        t["Slice"] = [](const GraphModel::Node&, const Inputs& in) {
            Tensor x = in.at(0);
            const auto begin = toInts(in.at(1)), size = toInts(in.at(2));
            for (std::size_t i = 0; i < begin.size(); ++i) {
                const auto d = static_cast<std::int64_t>(i);
                x = x.narrow(d, begin[i], size[i] < 0 ? x.size(d) - begin[i] : size[i]);
            }
            return one(x);
        };
        t["Range"] = [](const GraphModel::Node&, const Inputs& in) {
            if (in.at(0).is_floating_point())
                return one(torch::arange(in[0].item<double>(), in[1].item<double>(), in[2].item<double>(), torch::kFloat));
            return one(torch::arange(toInt(in[0]), toInt(in[1]), toInt(in[2]), torch::kLong));
        };
        t["MatMul"] = [](const GraphModel::Node& n, const Inputs& in) {
            Tensor a = n.boolAttr("transpose_a") ? in.at(0).t() : in.at(0);
            Tensor b = n.boolAttr("transpose_b") ? in.at(1).t() : in.at(1);
            return one(torch::matmul(a, b));
        };
        auto batchMatMul = [](const GraphModel::Node& n, const Inputs& in) {
            Tensor a = n.boolAttr("adj_x") ? in.at(0).transpose(-2, -1) : in.at(0);
            Tensor b = n.boolAttr("adj_y") ? in.at(1).transpose(-2, -1) : in.at(1);
            return one(torch::matmul(a, b));
        };
        t["BatchMatMul"] = batchMatMul;
        t["BatchMatMulV2"] = batchMatMul;
        t["Conv2D"] = [](const GraphModel::Node& n, const Inputs& in) {
            const Tensor& x = in.at(0);       // NHWC
            const Tensor& kernel = in.at(1);  // [kh, kw, in, out]
            auto strides = n.listAttr("strides");
            auto dilations = n.listAttr("dilations");
            if (strides.size() != 4) strides = {1, 1, 1, 1};
            if (dilations.size() != 4) dilations = {1, 1, 1, 1};
            const bool unit = strides[1] == 1 && strides[2] == 1;
            if (kernel.size(0) == 1 && kernel.size(1) == 1 && unit)  // a 1x1 convolution is a matmul
                return one(torch::matmul(x, kernel.reshape({kernel.size(2), kernel.size(3)})));
            const std::vector<std::int64_t> stride{strides[1], strides[2]}, padding{0, 0},
                dilation{dilations[1], dilations[2]};
            Tensor y = torch::conv2d(x.permute({0, 3, 1, 2}), kernel.permute({3, 2, 0, 1}), Tensor(),
                                     at::IntArrayRef(stride), at::IntArrayRef(padding), at::IntArrayRef(dilation), 1);
            return one(y.permute({0, 2, 3, 1}).contiguous());
        };
        return t;
    }();
    return table;
}

// Checks at load time what the ops would otherwise reject at run time.
void checkNode(const GraphModel::Node& n, const std::string& file) {
    auto fail = [&](const std::string& what) {
        throw UserError(file + ": node '" + n.name + "' (" + n.op + "): " + what);
    };
    if (n.op == "BiasAdd" && n.stringAttr("data_format", "NHWC") != "NHWC") fail("only NHWC data_format is supported");
    if (n.op == "Conv2D") {
        if (n.stringAttr("data_format", "NHWC") != "NHWC") fail("only NHWC data_format is supported");
        if (n.stringAttr("padding") != "VALID") fail("only VALID padding is supported");
    }
}

std::string decodeBytes(const json& s) {
    if (s.is_string()) return s.get<std::string>();  // base64 in some exporters: only used for checks
    std::string out;
    for (const auto& c : s) out.push_back(static_cast<char>(c.get<int>()));
    return out;
}

std::int64_t jsonInt(const json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<std::int64_t>(); }

void parseAttrs(GraphModel::Node& n, const json& attrs) {
    for (auto it = attrs.begin(); it != attrs.end(); ++it) {
        const json& v = it.value();
        if (v.contains("i")) n.ints[it.key()] = jsonInt(v["i"]);
        else if (v.contains("type")) n.ints[it.key()] = jsonInt(v["type"]);
        else if (v.contains("b")) n.bools[it.key()] = v["b"].get<bool>();
        else if (v.contains("s")) n.strings[it.key()] = decodeBytes(v["s"]);
        else if (v.contains("list") && v["list"].contains("i")) {
            std::vector<std::int64_t> list;
            for (const auto& x : v["list"]["i"]) list.push_back(jsonInt(x));
            n.lists[it.key()] = std::move(list);
        }
    }
}

std::vector<char> readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path.string() + ": cannot open (run models/fetch-assets.sh)");
    return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Decodes one weight from raw bytes, dequantising if the manifest says so.
Tensor decodeWeight(const json& w, const char* data, std::size_t available, std::size_t& consumed,
                    const std::string& where) {
    const std::string name = w.value("name", std::string("?"));
    std::vector<std::int64_t> shape;
    std::int64_t count = 1;
    for (const auto& d : w.at("shape")) {
        shape.push_back(d.get<std::int64_t>());
        count *= shape.back();
    }
    const std::string dtype = w.value("dtype", std::string());
    auto need = [&](std::size_t bytes) {
        if (bytes > available)
            throw UserError(where + ": the weight shards end inside weight '" + name +
                            "' (a shard is short or corrupt; run models/fetch-assets.sh again)");
        consumed = bytes;
    };
    if (w.contains("quantization")) {
        const json& q = w["quantization"];
        const std::string qtype = q.value("dtype", std::string());
        if (dtype != "float32") throw UserError(where + ": weight '" + name + "': quantised " + dtype + " is not supported");
        if (qtype == "uint8" || qtype == "uint16") {
            const bool u8 = qtype == "uint8";
            need(static_cast<std::size_t>(count) * (u8 ? 1 : 2));
            Tensor raw = torch::empty({count}, u8 ? torch::kByte : torch::kShort);
            std::memcpy(raw.data_ptr(), data, consumed);
            Tensor values = u8 ? raw.to(torch::kFloat) : raw.to(torch::kInt).bitwise_and(0xFFFF).to(torch::kFloat);
            const float scale = q.at("scale").get<float>(), min = q.at("min").get<float>();
            return (values * scale + min).reshape(shape);
        }
        if (qtype == "float16") {
            need(static_cast<std::size_t>(count) * 2);
            Tensor raw = torch::empty({count}, torch::kHalf);
            std::memcpy(raw.data_ptr(), data, consumed);
            return raw.to(torch::kFloat).reshape(shape);
        }
        throw UserError(where + ": weight '" + name + "': quantisation '" + qtype + "' is not supported");
    }
    if (dtype == "float32") {
        need(static_cast<std::size_t>(count) * 4);
        Tensor t = torch::empty({count}, torch::kFloat);
        std::memcpy(t.data_ptr(), data, consumed);
        return t.reshape(shape);
    }
    if (dtype == "int32") {
        need(static_cast<std::size_t>(count) * 4);
        Tensor t = torch::empty({count}, torch::kInt);
        std::memcpy(t.data_ptr(), data, consumed);
        return t.to(torch::kLong).reshape(shape);
    }
    if (dtype == "bool") {
        need(static_cast<std::size_t>(count));
        Tensor t = torch::empty({count}, torch::kByte);
        std::memcpy(t.data_ptr(), data, consumed);
        return t.to(torch::kBool).reshape(shape);
    }
    throw UserError(where + ": weight '" + name + "' has unsupported dtype '" + dtype + "'");
}

} // namespace

GraphModel GraphModel::load(const std::string& modelJsonPath) {
    const fs::path path(modelJsonPath);
    const std::string file = path.string();
    json model;
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw UserError(file + ": cannot open the model (run models/fetch-assets.sh)");
        try {
            model = json::parse(in);
        } catch (const json::parse_error& e) {
            throw UserError(file + ": not valid JSON (" + e.what() + "); run models/fetch-assets.sh again");
        }
    }
    if (!model.contains("modelTopology") || !model["modelTopology"].contains("node") ||
        !model.contains("weightsManifest"))
        throw UserError(file + ": not a TF.js graph model (no modelTopology.node or weightsManifest)");

    // Weights: each manifest group's shards are one byte stream holding its weights in order.
    std::unordered_map<std::string, Tensor> weights;
    for (const auto& group : model["weightsManifest"]) {
        std::vector<char> bytes;
        std::string shardNames;
        for (const auto& p : group.at("paths")) {
            const auto shard = readFile(path.parent_path() / p.get<std::string>());
            bytes.insert(bytes.end(), shard.begin(), shard.end());
            shardNames += (shardNames.empty() ? "" : ", ") + p.get<std::string>();
        }
        const std::string where = (path.parent_path() / "").string() + "{" + shardNames + "}";
        std::size_t offset = 0;
        for (const auto& w : group.at("weights")) {
            std::size_t consumed = 0;
            Tensor t = decodeWeight(w, bytes.data() + offset, bytes.size() - offset, consumed, where);
            weights[w.at("name").get<std::string>()] = t;
            offset += consumed;
        }
        if (offset != bytes.size())
            throw UserError(where + ": " + std::to_string(bytes.size() - offset) +
                            " bytes more than the manifest describes (a shard is corrupt; run "
                            "models/fetch-assets.sh again)");
    }

    // Nodes, by name; then a topological order of what the sinks need.
    const json& jsonNodes = model["modelTopology"]["node"];
    std::vector<Node> nodes;
    std::unordered_map<std::string, int> index;
    std::vector<std::vector<std::string>> rawInputs;
    for (const auto& jn : jsonNodes) {
        Node n;
        n.name = jn.at("name").get<std::string>();
        n.op = jn.at("op").get<std::string>();
        if (jn.contains("attr")) parseAttrs(n, jn["attr"]);
        std::vector<std::string> ins;
        if (jn.contains("input"))
            for (const auto& i : jn["input"]) {
                auto s = i.get<std::string>();
                if (!s.empty() && s[0] != '^') ins.push_back(s);  // control dependencies carry no data
            }
        if (n.op == "Const") {
            auto it = weights.find(n.name);
            if (it == weights.end()) throw UserError(file + ": no weight in the manifest for constant '" + n.name + "'");
            n.value = it->second;
        } else if (n.op != "Placeholder") {
            if (!opTable().count(n.op))
                throw UserError(file + ": node '" + n.name + "' uses op '" + n.op +
                                "', which this TF.js interpreter does not implement");
            checkNode(n, file);
        }
        index[n.name] = static_cast<int>(nodes.size());
        nodes.push_back(std::move(n));
        rawInputs.push_back(std::move(ins));
    }
    std::vector<bool> consumed(nodes.size(), false);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& s : rawInputs[i]) {
            const auto colon = s.rfind(':');
            std::string name = s;
            int output = 0;
            if (colon != std::string::npos && s.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
                name = s.substr(0, colon);
                output = std::stoi(s.substr(colon + 1));
            }
            auto it = index.find(name);
            if (it == index.end())
                throw UserError(file + ": node '" + nodes[i].name + "' reads '" + name + "', which is not in the graph");
            nodes[i].inputs.emplace_back(it->second, output);
            consumed[static_cast<std::size_t>(it->second)] = true;
        }
    }
    // Depth-first topological sort (iterative; detects cycles).
    std::vector<int> order, state(nodes.size(), 0);  // 0 new, 1 on stack, 2 done
    std::vector<int> sinksOld;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (!consumed[i] && nodes[i].op != "Const" && nodes[i].op != "Placeholder") sinksOld.push_back(static_cast<int>(i));
    if (sinksOld.empty()) throw UserError(file + ": the graph has no output node");
    for (int root : sinksOld) {
        std::vector<std::pair<int, std::size_t>> stack{{root, 0}};
        while (!stack.empty()) {
            auto& [v, next] = stack.back();
            if (next == 0) {
                if (state[static_cast<std::size_t>(v)] == 2) {
                    stack.pop_back();
                    continue;
                }
                state[static_cast<std::size_t>(v)] = 1;
            }
            const auto& ins = nodes[static_cast<std::size_t>(v)].inputs;
            if (next < ins.size()) {
                const int u = ins[next++].first;
                if (state[static_cast<std::size_t>(u)] == 1) throw UserError(file + ": the graph has a cycle");
                if (state[static_cast<std::size_t>(u)] == 0) stack.emplace_back(u, 0);
                continue;
            }
            state[static_cast<std::size_t>(v)] = 2;
            order.push_back(v);
            stack.pop_back();
        }
    }
    std::vector<int> newIndex(nodes.size(), -1);
    auto sorted = std::make_shared<std::vector<Node>>();
    for (int v : order) {
        newIndex[static_cast<std::size_t>(v)] = static_cast<int>(sorted->size());
        sorted->push_back(std::move(nodes[static_cast<std::size_t>(v)]));
    }
    for (auto& n : *sorted)
        for (auto& in : n.inputs) in.first = newIndex[static_cast<std::size_t>(in.first)];
    GraphModel g;
    for (int s : sinksOld) g.m_sinks.push_back(newIndex[static_cast<std::size_t>(s)]);
    g.m_nodes = std::move(sorted);
    return g;
}

std::vector<Tensor> GraphModel::execute(const std::map<std::string, Tensor>& feeds) const {
    torch::NoGradGuard noGrad;
    const auto& nodes = *m_nodes;
    std::vector<Outputs> values(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const Node& n = nodes[i];
        if (n.op == "Const") {
            values[i] = {n.value};
            continue;
        }
        if (n.op == "Placeholder") {
            auto it = feeds.find(n.name);
            if (it == feeds.end()) throw Error("TF.js graph: no value fed for input '" + n.name + "'");
            values[i] = {it->second};
            continue;
        }
        Inputs in;
        in.reserve(n.inputs.size());
        for (const auto& [node, output] : n.inputs) {
            const auto& outs = values[static_cast<std::size_t>(node)];
            if (static_cast<std::size_t>(output) >= outs.size())
                throw Error("TF.js graph: node '" + n.name + "' reads output " + std::to_string(output) + " of '" +
                            nodes[static_cast<std::size_t>(node)].name + "', which has " +
                            std::to_string(outs.size()));
            in.push_back(outs[static_cast<std::size_t>(output)]);
        }
        try {
            values[i] = opTable().at(n.op)(n, in);
        } catch (const c10::Error& e) {
            throw Error("TF.js graph: node '" + n.name + "' (" + n.op + ") failed: " + e.what_without_backtrace());
        } catch (const Error& e) {
            throw Error("TF.js graph: node '" + n.name + "' (" + n.op + "): " + e.what());
        }
    }
    std::vector<Tensor> out;
    for (int s : m_sinks) out.push_back(values[static_cast<std::size_t>(s)].at(0));
    return out;
}

std::vector<std::string> GraphModel::ops() const {
    std::set<std::string> ops;
    for (const auto& n : *m_nodes) ops.insert(n.op);
    return {ops.begin(), ops.end()};
}

std::vector<std::string> GraphModel::inputNames() const {
    std::vector<std::string> names;
    for (const auto& n : *m_nodes)
        if (n.op == "Placeholder") names.push_back(n.name);
    return names;
}

std::vector<std::string> GraphModel::outputNames() const {
    std::vector<std::string> names;
    for (int s : m_sinks) names.push_back((*m_nodes)[static_cast<std::size_t>(s)].name);
    return names;
}

} // namespace larimar::tfjs
