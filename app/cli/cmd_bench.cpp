#include "app/cli/cmd_bench.h"

#include "app/cli/cmd_editor_support.h"

#include "core/editor/editor_bench.h"
#include "core/editor/synthetic_text_model.h"
#include "core/memory/memory_bench.h"
#include "core/model/larimar_model.h"
#include "core/model/model_bench.h"
#include "core/model/model_config.h"
#include "core/model/pretrained.h"
#include "core/util/model_paths.h"

#include <filesystem>
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <ostream>

namespace larimar::cli {

void BenchCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_memory = app.add_subcommand("memory", "Episodic memory: write, forget, read one fact; one-shot write of N");
    m_memory->add_option("--slots", m_slots, "K, memory slots")->check(CLI::Range(1, 4096));
    m_memory->add_option("--width", m_width, "C, latent dimensions")->check(CLI::Range(1, 4096));
    m_memory->add_option("--episode", m_episode, "N, facts in the one-shot write")->check(CLI::Range(1, 65536));
    m_memory->add_option("--repetitions", m_repetitions, "Timed repetitions per operation")->check(CLI::Range(1, 100000));
    m_memory->add_flag("--warm", m_warm, "Time with warm caches (default: cold, as between two model calls)");
    m_model = app.add_subcommand("model", "Encoder sentences/s and decoder tokens/s (batch 1, greedy, cached)");
    m_model->add_option("--config", m_modelConfig,
                        "Time a model config.json with random weights instead of the model (--model or bundled)")
        ->check(CLI::ExistingFile);
    m_model->add_option("--threads", m_threads, "libtorch threads")->check(CLI::Range(1, 256));
    m_model->add_option("--tokens", m_decodeTokens, "Pretrained models: tokens generated per timed run")
        ->check(CLI::Range(1, 4096));
    m_model->add_option("--encoder", m_encoderDir,
                        "Pretrained models: a BERT sentence encoder to time too (default: the fetched all-MiniLM-L6-v2)");
    m_editor = app.add_subcommand("editor", "Editor end to end: write one fact, a batch, a query, a forget, reopen "
                                            "(the model given with --model, else a synthetic stand-in)");
    m_editor->add_option("--facts", m_editorFacts, "N, facts in the timed batch")->check(CLI::Range(1, 1000000));
    m_editor->add_option("--repetitions", m_editorRepetitions, "Single writes, queries, forgets timed")
        ->check(CLI::Range(1, 10000));
    m_editor->add_option("--slots", m_editorSlots, "K of the synthetic model")->check(CLI::Range(1, 4096));
    m_editor->add_option("--width", m_editorWidth, "C of the synthetic model")->check(CLI::Range(1, 4096));
    m_editor->add_flag("--scope", m_editorScope,
                       "Use the editor's scope detector (ESD on MiniLM when its assets are there), whose nearest fact "
                       "routes a paged memory's reads; default: the stand-in, which names none");
    m_editor->add_option("--directory", m_editorDirectory,
                         "Where the scratch workspace goes (default: the temp directory; its disk sets the fsync cost)")
        ->check(CLI::ExistingDirectory);
}

int BenchCommand::executeEditor(Context& ctx) {
    // A real model only when one is asked for: the bundled model is still training, and a
    // benchmark that silently switches models between runs compares nothing.
    const bool real = !ctx.global.model.empty() || ctx.modelFactory;
    std::shared_ptr<TextModel> model;
    if (real) {
        model = ctx.loadModel();
    } else {
        SyntheticModelOptions so;
        so.slots = m_editorSlots;
        so.width = m_editorWidth;
        model = std::make_shared<SyntheticTextModel>(so);
    }
    EditorBenchOptions o;
    o.batchFacts = m_editorFacts;
    o.repetitions = m_editorRepetitions;
    o.directory = m_editorDirectory;
    if (!ctx.global.backend.empty()) o.backend.kind = ctx.global.backend;
    if (ctx.global.pageFacts > 0) o.backend.pageFacts = ctx.global.pageFacts;
    if (m_editorScope)
        o.scope = [&ctx, model](const std::string& path) { return makeScopeDetector(scopeSetup(ctx, model, path)); };
    const EditorBenchResult r = benchmarkEditor(model, o, ctx.progress("bench editor"));
    ctx.endProgress();
    const std::string note = real ? "" : "synthetic stand-in model (no --model given): encode and generate cost "
                                         "about nothing; the times are the editor's memory and database work";
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"benchmark", "editor"},
                                  {"model", r.model},
                                  {"synthetic_model", !real},
                                  {"note", note},
                                  {"slots", r.slots},
                                  {"width", r.width},
                                  {"repetitions", r.repetitions},
                                  {"batch_facts", r.batchFacts},
                                  {"backend", r.backend},
                                  {"pages", r.pages},
                                  {"scope_detector", r.scope},
                                  {"ms",
                                   {{"encode_one_median", r.encodeOneMs},
                                   {"write_one_median", r.writeOneMs},
                                    {"write_one_max", r.writeOneMaxMs},
                                    {"batch", r.batchMs},
                                    {"query_median", r.queryMs},
                                    {"memory_read_median", r.readMs},
                                    {"scope_score_median", r.scopeMs},
                                    {"forget_one_median", r.forgetOneMs},
                                    {"reopen", r.openMs}}},
                                  {"query_tokens", r.queryTokens},
                                  {"workspace_bytes", r.workspaceBytes}}
                       .dump(2)
                << "\n";
        return 0;
    }
    auto row = [&](const std::string& what, double ms) {
        ctx.out << "  " << std::left << std::setw(52) << what << std::right << std::setw(10) << std::fixed
                << std::setprecision(2) << ms << " ms\n";
    };
    ctx.out << "Editor benchmark, model " << r.model << ", K = " << r.slots << ", C = " << r.width << ", memory "
            << r.backend << " (" << r.pages << (r.pages == 1 ? " page" : " pages") << " after the batch), scope "
            << r.scope << "\n";
    if (!real) ctx.out << "  (" << note << ")\n";
    row("batch of " + std::to_string(r.batchFacts) + " facts first (one transaction)", r.batchMs);
    ctx.out << "  with those " << r.batchFacts << " facts written:\n";
    row("write one fact: encode + memory + commit (median)", r.writeOneMs);
    row("  of which the model's encoding of one fact (median)", r.encodeOneMs);
    row("write one fact, slowest (with a snapshot)", r.writeOneMaxMs);
    row("query: scope + read + 2 x " + std::to_string(r.queryTokens) + " generated tokens (median)", r.queryMs);
    row("  of which the memory read: routing + read (median)", r.readMs);
    row("  and the scope detector's score (median)", r.scopeMs);
    row("forget one fact (median)", r.forgetOneMs);
    row("reopen the workspace (restore + replay)", r.openMs);
    ctx.out << "  workspace file: " << r.workspaceBytes / 1024 << " KiB\n";
    return 0;
}

int BenchCommand::executeModel(Context& ctx) {
    ModelBenchOptions o;
    o.threads = m_threads;
    o.device = ctx.global.device;
    std::string what;
    ModelBenchResult r;
    auto bar = ctx.progress("bench model");
    if (!m_modelConfig.empty()) {
        what = m_modelConfig + " (random weights)";
        r = benchmarkModel(ModelConfig::load(m_modelConfig), o, bar);
    } else if (const std::string dir = resolveModelDir(ctx.global); isPretrainedModel(dir)) {
        return executePretrained(ctx, dir);
    } else {
        what = dir;
        LarimarModel model = LarimarModel::load(dir, parseDevice(ctx.global.device));
        r = benchmarkModel(model, o, bar);
    }
    ctx.endProgress();
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"benchmark", "model"},
                                  {"model", what},
                                  {"device", r.device},
                                  {"threads", r.threads},
                                  {"parameters", r.parameters},
                                  {"encoder_ms_per_sentence", r.encoderMsPerSentence},
                                  {"encoder_sentences_per_second", r.encoderSentencesPerSecond},
                                  {"decoder_ms_per_token", r.decoderMsPerToken},
                                  {"decoder_tokens_per_second", r.decoderTokensPerSecond}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "Model benchmark: " << what << "\n  " << r.parameters << " parameters, " << r.device << ", "
            << r.threads << " thread(s)\n"
            << std::fixed << std::setprecision(2) << "  encoder: " << r.encoderMsPerSentence
            << " ms per 12-token sentence (" << std::setprecision(0) << r.encoderSentencesPerSecond
            << " sentences/s)\n"
            << std::setprecision(2) << "  decoder: " << r.decoderMsPerToken << " ms per token (" << std::setprecision(0)
            << r.decoderTokensPerSecond << " tokens/s, batch 1, greedy, cached)\n";
    return 0;
}

int BenchCommand::executePretrained(Context& ctx, const std::string& path) {
    PretrainedBenchOptions o;
    o.threads = m_threads;
    o.device = ctx.global.device;
    o.decodeTokens = m_decodeTokens;
    o.encoderDir = m_encoderDir.empty() ? findAssetDir("minilm") : m_encoderDir;
    const PretrainedBenchResult r = benchmarkPretrained(path, o, ctx.progress("bench model"));
    ctx.endProgress();
    const double share = r.decoderTokensPerSecond / r.boundTokensPerSecond;
    if (ctx.global.json) {
        nlohmann::json j = {{"benchmark", "model"},
                            {"model", path},
                            {"architecture", r.architecture},
                            {"name", r.name},
                            {"device", r.device},
                            {"threads", r.threads},
                            {"parameters", r.parameters},
                            {"load_seconds", r.loadSeconds},
                            {"decoder_ms_per_token", r.decoderMsPerToken},
                            {"decoder_tokens_per_second", r.decoderTokensPerSecond},
                            {"weight_bytes_per_token", r.weightBytesPerToken},
                            {"read_bandwidth_gb_per_s", r.bandwidthGBs},
                            {"bound_tokens_per_second", r.boundTokensPerSecond},
                            {"share_of_bound", share}};
        if (r.encoderMsPerSentence >= 0) {
            j["encoder"] = o.encoderDir;
            j["encoder_load_seconds"] = r.encoderLoadSeconds;
            j["encoder_ms_per_sentence"] = r.encoderMsPerSentence;
        }
        ctx.out << j.dump(2) << "\n";
        return 0;
    }
    ctx.out << "Model benchmark: " << path << " (" << r.architecture << ", " << r.name << ")\n  " << r.parameters
            << " parameters, " << r.device << ", " << r.threads << " thread(s)\n"
            << std::fixed << std::setprecision(2) << "  load: " << r.loadSeconds << " s\n"
            << "  decoder: " << r.decoderMsPerToken << " ms per token (" << std::setprecision(1)
            << r.decoderTokensPerSecond << " tokens/s, batch 1, greedy, cached, top-5 alternatives)\n"
            << "  bound: " << std::setprecision(0) << r.weightBytesPerToken / 1e6 << " MB of weights per token at "
            << std::setprecision(1) << r.bandwidthGBs << " GB/s measured read bandwidth = " << r.boundTokensPerSecond
            << " tokens/s; decoding runs at " << std::setprecision(0) << 100.0 * share << "% of it\n";
    if (r.encoderMsPerSentence >= 0)
        ctx.out << std::setprecision(2) << "  sentence encoder " << o.encoderDir << ": load " << r.encoderLoadSeconds
                << " s, " << r.encoderMsPerSentence << " ms per short sentence\n";
    return 0;
}

int BenchCommand::execute(Context& ctx) {
    if (m_memory->parsed()) {
        MemoryBenchOptions o;
        o.slots = m_slots;
        o.width = m_width;
        o.episode = m_episode;
        o.repetitions = m_repetitions;
        o.prefill = m_slots / 2;
        o.coldCaches = !m_warm;
        const MemoryBenchResult r = benchmarkMemory(o, ctx.progress("bench memory"));
        ctx.endProgress();
        if (ctx.global.json) {
            ctx.out << nlohmann::json{{"benchmark", "memory"},
                                      {"slots", m_slots},
                                      {"width", m_width},
                                      {"episode", m_episode},
                                      {"repetitions", m_repetitions},
                                      {"prefilled_facts", o.prefill},
                                      {"kernels", r.kernels},
                                      {"cold_caches", o.coldCaches},
                                      {"bandwidth_gbs", {{"read", r.readBandwidthGBs}, {"update", r.updateBandwidthGBs}}},
                                      {"median_ms",
                                       {{"write_one", r.writeMs},
                                        {"forget_one", r.forgetMs},
                                        {"read_one", r.readMs},
                                        {"read_one_after_change", r.readAfterChangeMs},
                                        {"one_shot_write", r.oneShotMs},
                                        {"one_shot_write_one", r.oneShotOneMs},
                                        {"one_shot_write_uncached", r.oneShotUncachedMs},
                                        {"snapshot_round_trip", r.snapshotMs},
                                        {"write_one_eigen_blocked", r.writeEigenBlockedMs},
                                        {"forget_one_eigen_blocked", r.forgetEigenBlockedMs},
                                        {"reference_kalman_f32", r.referenceKalmanMs}}},
                                      {"floor_ms",
                                       {{"write_one", r.writeFloorMs},
                                        {"forget_one", r.writeFloorMs},
                                        {"read_one", r.readFloorMs},
                                        {"one_shot_write", r.oneShotFloorMs},
                                        {"one_shot_write_one", r.oneShotOneFloorMs},
                                        {"issue_write", r.issueFloorMs},
                                        {"reference_kalman_f32", r.referenceKalmanFloorMs}}},
                                      {"one_shot_gflops", r.oneShotGflops}}
                           .dump(2)
                    << "\n";
            return 0;
        }
        auto row = [&](const std::string& what, double ms, double floorMs) {
            ctx.out << "  " << std::left << std::setw(52) << what << std::right << std::setw(10) << std::fixed
                    << std::setprecision(3) << ms << " ms";
            if (floorMs > 0 && o.coldCaches) // a DRAM floor means nothing for warm caches
                ctx.out << std::setw(10) << floorMs << " ms" << std::setw(7) << std::setprecision(1) << ms / floorMs
                        << "x";
            ctx.out << "\n";
        };
        ctx.out << "Memory benchmark, K = " << m_slots << ", C = " << m_width << ", float64, one thread (its CPU time), "
                << o.prefill << " facts already written, median of " << m_repetitions << ", "
                << (o.coldCaches ? "cold caches (64 MB read before each single-fact operation)" : "warm caches")
                << ".\nKernels: " << r.kernels << ". DRAM measured: " << std::fixed << std::setprecision(1)
                << r.readBandwidthGBs << " GB/s read, " << r.updateBandwidthGBs
                << " GB/s updated in place.\nFloor = bytes the operation must move / that bandwidth.\n";
        ctx.out << "  " << std::left << std::setw(52) << "operation" << std::right << std::setw(13) << "time"
                << std::setw(13) << "floor" << std::setw(8) << "ratio" << "\n";
        row("write one fact (sequential)", r.writeMs, r.writeFloorMs);
        row("forget one fact", r.forgetMs, r.writeFloorMs);
        row("read one query (memory unchanged)", r.readMs, r.readFloorMs);
        row("read one query after a change (M^+ recomputed)", r.readAfterChangeMs, 0);
        row("one-shot write of N = " + std::to_string(m_episode) + " facts", r.oneShotMs, r.oneShotFloorMs);
        row("one-shot write of N = 1 fact", r.oneShotOneMs, r.oneShotOneFloorMs);
        row("one-shot write of N = " + std::to_string(m_episode) + ", M_ref^+ recomputed", r.oneShotUncachedMs, 0);
        row("snapshot serialize + restore", r.snapshotMs, 0);
        ctx.out << "Compared with:\n";
        row("write one fact, earlier arithmetic (Eigen, SSE2)", r.writeEigenBlockedMs, r.writeFloorMs);
        row("forget one fact, earlier arithmetic (Eigen, SSE2)", r.forgetEigenBlockedMs, r.writeFloorMs);
        row("public code's Kalman update, float32", r.referenceKalmanMs, r.referenceKalmanFloorMs);
        row("the issue's write floor (M, K x K float64 once)", r.issueFloorMs, 0);
        ctx.out << "  (the one-shot write of N = " << m_episode << " runs at " << std::setprecision(1) << r.oneShotGflops
                << " GFLOP/s: compute-bound)\n";
        return 0;
    }
    if (m_model->parsed()) return executeModel(ctx);
    if (m_editor->parsed()) return executeEditor(ctx);
    throw UserError("bench: name what to benchmark, e.g. 'larimar bench memory'");
}

} // namespace larimar::cli
