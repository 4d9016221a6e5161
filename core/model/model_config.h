#pragma once
/// The sizes and settings of a Larimar model: what config.json in a model directory holds.
/// Torch-free, so the store, the CLI and the GUI can read a model's config without libtorch.
///
/// config.json (all sizes are positive integers; optional fields show their default):
/// {
///   "model_type": "larimar", "name": "larimar-small", "version": "0.1.0",
///   "latent_size": 256,                                       // C
///   "encoder": {"layers": 4, "heads": 4, "hidden": 256, "intermediate": 1024,
///               "vocab": 16384, "max_positions": 128,
///               "type_vocab": 2, "layer_norm_eps": 1e-12},    // BERT
///   "decoder": {"layers": 6, "heads": 6, "hidden": 384, "vocab": 16384, "max_positions": 128,
///               "intermediate": 4*hidden, "layer_norm_eps": 1e-5}, // GPT-2
///   "memory": {"slots": 128, "pinv": "iterative", "pinv_alpha": 5e-4, "pinv_steps": 15},
///   "special_tokens": {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "pad": "<|endoftext|>"}
/// }
/// Unknown fields are ignored (a later version may add some); a wrong type or value is a
/// larimar::UserError naming the field and the value.
#include "core/model/tokenizer.h" // SpecialTokens (torch-free)

#include <cstdint>
#include <string>

namespace larimar {

/// BERT-style encoder (Hugging Face BertModel sizes).
struct EncoderConfig {
    int layers = 4;
    int heads = 4;
    int hidden = 256;
    int intermediate = 1024;
    int vocab = 16384;
    int maxPositions = 128;
    int typeVocab = 2;
    double layerNormEps = 1e-12;
    /// "mean_pool": the latent also takes a linear map of the mean of the last hidden states
    /// (mean_head), beside the pooled first token, so every word of a fact reaches the latent
    /// directly. Off in older models.
    bool meanPool = false;
    /// "token_bag": the latent also takes a linear map (bag_head) of the mean of the sentence's
    /// tokens in the decoder's own embedding table, so which words a fact has (its answer above
    /// all) is in the latent in the very terms the decoder's output uses. Needs the encoder and
    /// decoder to share one vocabulary. Off in older models.
    bool tokenBag = false;
};

/// GPT-2 style decoder (Hugging Face GPT2Model sizes: n_layer, n_head, n_embd, vocab, n_positions).
struct DecoderConfig {
    int layers = 6;
    int heads = 6;
    int hidden = 384;
    int intermediate = 4 * 384; ///< GPT-2's n_inner; 0 in JSON or absent means 4 * hidden
    int vocab = 16384;
    int maxPositions = 128;
    double layerNormEps = 1e-5;
    /// "latent_output": a gated copy of the latent added to the final hidden state (after
    /// ln_f), so the readout can name an answer token directly. Off in older models.
    bool latentOutput = false;
};

/// The episodic memory the model was trained with (see core/memory/episodic_memory.h).
struct MemoryConfig {
    int slots = 128;                 ///< K
    std::string pinv = "iterative";  ///< "exact" or "iterative": the model's default read/write mode
    double pinvAlpha = 5e-4;         ///< iterative: X0 = alpha A^T
    int pinvSteps = 15;              ///< iterative: number of Newton-Schulz steps
};

struct ModelConfig {
    std::string name = "larimar";
    std::string version = "0.1.0";
    int latentSize = 256; ///< C
    /// "word_slot": the last decoder.hidden dimensions of every latent hold words, not learned
    /// features: a weighted mean of the fact's tokens' rows of the decoder's embedding table
    /// (the encoder learns the weights, so the answer's words can dominate), times a learned
    /// scale. The memory stores and reads them like any other dimension; the decoder adds what
    /// it reads back to its last hidden state (a learned gate and scale), which its tied output
    /// layer turns into a bonus for those words. The encoder's heads and the decoder's latent
    /// projections see only the other latent_size - decoder.hidden dimensions. Needs one
    /// vocabulary. Off in older models.
    bool wordSlot = false;
    /// "key_slot" (needs word_slot): decoder.hidden more dimensions after the word slot, a
    /// learned map (key_map, started as a scaled whitening) of another pointer-weighted mean of
    /// the fact's words. The decoder never reads them: they only address the memory, so a query
    /// reads a fact back in proportion to the words they share (a neighbour about another
    /// subject shares few), not only to how alike the encoder finds them. Off in older models.
    bool keySlot = false;
    /// "key_gain" (key_slot models): the key slot is multiplied by this when a text is encoded.
    /// It decides how much the memory's addressing goes by the words a query shares with a fact
    /// rather than by the learned dimensions; the decoder never reads the key, so it changes
    /// which facts are read, not how a read is decoded. Default 1.
    double keyGain = 1.0;
    /// Latent dimensions the encoder's heads produce: all but the word and key slots.
    int featureSize() const { return latentSize - (wordSlot ? decoder.hidden : 0) - (keySlot ? decoder.hidden : 0); }
    EncoderConfig encoder;
    DecoderConfig decoder;
    MemoryConfig memory;
    SpecialTokens specialTokens; ///< bos is required (decoder inputs start with it); eos/pad may be ""

    /// Parses config.json text. Throws UserError (naming the field, value and source) on a
    /// malformed document or an invalid value; calls validate().
    static ModelConfig fromJson(const std::string& jsonText, const std::string& sourceForMessages = "config.json");
    /// Reads and parses a file. Throws UserError if it cannot be read or is invalid.
    static ModelConfig load(const std::string& path);
    /// The config.json text (pretty-printed, stable field order).
    std::string toJson() const;
    /// Writes config.json atomically (temporary file + rename). Throws Error on I/O failure.
    void save(const std::string& path) const;

    /// Checks every size and setting: positive sizes, hidden divisible by heads, known pinv mode,
    /// a bos token. Throws UserError "decoder.hidden = 380 is not a multiple of
    /// decoder.heads = 6" and the like.
    void validate() const;

    /// Parameters of the whole model (encoder, head, decoder, latent projections, memory prior).
    std::int64_t parameterCount() const;
};

} // namespace larimar
