#pragma once
/// Internal to core/scope (includes libtorch; ui/ and store/ must not include it): runs a
/// TensorFlow.js graph model (model.json with its weight shards) with libtorch, op by op.
/// Only the ops that Universal Sentence Encoder Lite uses are implemented; loading a graph with
/// any other op fails at load time, naming the op and the node. Integer tensors are held as
/// int64, booleans as bool, floats as float32.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace larimar::tfjs {

class GraphModel {
public:
    /// Reads model.json and the weight shards its weightsManifest names (looked up beside it).
    /// Throws UserError naming the file for a missing, short or malformed file, an unsupported
    /// dtype or quantisation, or an op this interpreter does not know.
    static GraphModel load(const std::string& modelJsonPath);

    /// Runs the graph on feeds (placeholder name -> tensor) and returns the outputs of its sink
    /// nodes (the nodes nothing consumes), in graph order. Throws Error if a feed is missing or
    /// an op fails (with the node's name). Const and thread-safe: no state is written.
    std::vector<torch::Tensor> execute(const std::map<std::string, torch::Tensor>& feeds) const;

    /// The distinct ops of the graph, sorted.
    std::vector<std::string> ops() const;

    /// The names of the placeholders (inputs) and of the sink nodes (outputs).
    std::vector<std::string> inputNames() const;
    std::vector<std::string> outputNames() const;

    struct Node;

private:
    std::shared_ptr<const std::vector<Node>> m_nodes;  // topological order
    std::vector<int> m_sinks;
};

} // namespace larimar::tfjs
