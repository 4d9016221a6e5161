#pragma once
// The editor's test double for a language model: SyntheticTextModel (core/editor) at K = 16,
// C = 32. Deterministic: encode() is seeded by SHA-256 of the text; with a memory readout,
// generate() answers with the written fact nearest to it, without one "plain continuation of
// <prompt>", so tests see that a write changes the answer and a forget changes it back.
// It is a test double only; the real model is tested in test_model.cpp.
#include "core/editor/synthetic_text_model.h"

#include <memory>
#include <string>

namespace larimar::test {

inline std::shared_ptr<SyntheticTextModel> makeFakeModel(const std::string& name = "fake-model",
                                                         std::uint64_t seed = 7) {
    SyntheticModelOptions o;
    o.slots = 16;
    o.width = 32;
    o.name = name;
    o.version = "1";
    o.seed = seed;
    return std::make_shared<SyntheticTextModel>(o);
}

} // namespace larimar::test
