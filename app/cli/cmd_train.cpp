#include "app/cli/cmd_train.h"

#include "core/model/larimar_model.h"
#include "core/train/larimar_lm_trainer.h"
#include "core/train/trainer.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace larimar::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void onSignal(int) { g_stop = true; }

std::string duration(double s) {
    const long t = static_cast<long>(s);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    return buf;
}

} // namespace

void TrainCommand::setup(CLI::App& app) {
    app.add_option("config", m_config, "Training config (JSON); see models/configs/")->required()->check(CLI::ExistingFile);
    app.add_option("--output", m_output, "Write checkpoints, log and model here instead of the config's output_dir");
    app.add_option("--init-from", m_initFrom, "Start from this model directory's weights (a fresh optimiser)")
        ->check(CLI::ExistingDirectory);
    app.add_flag("--resume", m_resume, "Continue from the checkpoint in the config's output_dir");
    app.add_option("--max-minutes", m_maxMinutes, "Stop after this much wall time (a checkpoint is written first)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-steps", m_maxSteps, "Stop after this many steps in this run")->check(CLI::NonNegativeNumber);
}

int TrainCommand::execute(Context& ctx) {
    const bool pretrained = isLarimarLmTrainConfig(m_config);
    TrainConfig cfg;
    LarimarLmTrainConfig lmCfg;
    if (pretrained) {
        lmCfg = LarimarLmTrainConfig::load(m_config);
        if (!m_output.empty()) lmCfg.outputDir = m_output;
        if (!m_initFrom.empty()) throw UserError("--init-from is not used with a larimar-pretrained config");
    } else {
        cfg = TrainConfig::load(m_config);
        if (!m_output.empty()) cfg.outputDir = m_output;
        if (!m_initFrom.empty()) cfg.initModel = m_initFrom;
    }
    TrainRunOptions o;
    o.resume = m_resume;
    o.maxMinutes = m_maxMinutes;
    o.maxSteps = m_maxSteps;
    // Ctrl-C or SIGTERM: stop after the current step, write a checkpoint, exit cleanly.
    g_stop = false;
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    o.cancel = &g_stop;
    o.onMessage = [&](const std::string& m) { ctx.err << "train: " << m << "\n" << std::flush; };
    o.onProgress = [&](const TrainStatus& s) {
        std::ostringstream line;
        line << "step " << s.step << "/" << s.steps << std::fixed << std::setprecision(3) << "  loss " << s.loss
             << " (memory " << s.memoryLoss << ", lm " << s.lmLoss;
        if (s.bowLoss >= 0) line << ", bow " << s.bowLoss;
        if (s.keyLoss >= 0) line << ", key " << s.keyLoss;
        if (s.accuracy >= 0) line << ", accuracy " << s.accuracy;
        line << ")  lr " << std::scientific
             << std::setprecision(2) << s.lr << std::fixed << std::setprecision(1) << "  " << s.sequencesPerSecond
             << " seq/s  elapsed " << duration(s.elapsedSeconds) << "  ETA " << duration(s.etaSeconds);
        if (ctx.errIsTerminal) ctx.err << "\r" << line.str() << "   " << std::flush;
        else ctx.err << line.str() << "\n" << std::flush;
    };
    const TrainResult r = pretrained ? runLarimarLmTraining(lmCfg, o) : runTraining(cfg, o);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (ctx.errIsTerminal) ctx.err << "\n";
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"step", r.step},        {"finished", r.finished},   {"checkpoint", r.checkpointDir},
                                  {"model", r.modelDir},    {"log", r.logCsv},          {"loss_plot", r.lossPlot},
                                  {"loss", r.last.loss},    {"elapsed_seconds", r.last.elapsedSeconds}}
                       .dump(2)
                << "\n";
    } else {
        ctx.out << (r.finished ? "Training finished" : "Training stopped") << " at step " << r.step << ".\n"
                << "  checkpoint: " << r.checkpointDir << "\n"
                << (r.finished ? "  model:      " + r.modelDir + "\n" : std::string())
                << "  log:        " << r.logCsv << "\n"
                << "  loss plot:  " << r.lossPlot << "\n";
        if (!r.finished) ctx.out << "Continue with: larimar train " << m_config << " --resume\n";
    }
    return 0;
}

void ExportModelCommand::setup(CLI::App& app) {
    app.add_option("source", m_source, "Trained model directory (a run's model/ or checkpoint/)")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("dest", m_dest, "Model directory to write")->required();
    app.add_option("--dtype", m_dtype, "How the weights are stored: f32, or f16 (half the size)")
        ->check(CLI::IsMember({"f32", "f16"}));
    app.add_flag("--force", m_force, "Replace the model files in an existing dest (its model card and other files are kept)");
}

int ExportModelCommand::execute(Context& ctx) {
    namespace fs = std::filesystem;
    const fs::path src(m_source), dest(m_dest);
    std::error_code ec;
    const bool destExists = fs::exists(dest);
    if (destExists && !m_force) throw UserError(dest.string() + " already exists: pass --force to replace its model files");
    if (destExists && !fs::is_directory(dest)) throw UserError(dest.string() + " exists and is not a directory");
    if (destExists && fs::equivalent(src, dest, ec)) throw UserError("source and dest are the same directory");

    LarimarModel model = LarimarModel::load(src.string());
    const fs::path tmp = dest.string() + ".export-tmp";
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) throw UserError(tmp.string() + ": cannot create (" + ec.message() + ")");

    // The card: dest's own is kept (it is the curated one), else the source's, else save()'s stub.
    const std::string destCard = destExists ? LarimarModel::findCard(dest.string()) : std::string();
    const std::string srcCard = LarimarModel::findCard(src.string());
    if (destCard.empty() && !srcCard.empty()) fs::copy_file(srcCard, tmp / "MODEL_CARD.md");
    model.save(tmp.string(), m_dtype == "f16" ? torch::kHalf : torch::kFloat);

    // Load what was written and measure how far its weights are from the source's.
    const LarimarModel check = LarimarModel::load(tmp.string());
    double maxDiff = 0, maxAbs = 0;
    {
        torch::NoGradGuard noGrad;
        const auto a = model.stateDict();
        const auto b = check.stateDict();
        for (const auto& [name, t] : a) {
            maxDiff = std::max(maxDiff, (t - b.at(name)).abs().max().item<double>());
            maxAbs = std::max(maxAbs, t.abs().max().item<double>());
        }
    }

    fs::create_directories(dest, ec);
    if (ec) throw UserError(dest.string() + ": cannot create (" + ec.message() + ")");
    for (const auto& entry : fs::directory_iterator(tmp)) {
        if (!destCard.empty() && entry.path().filename() == "MODEL_CARD.md") continue; // save()'s stub
        fs::rename(entry.path(), dest / entry.path().filename(), ec);
        if (ec) throw UserError((dest / entry.path().filename()).string() + ": cannot write (" + ec.message() + ")");
    }
    fs::remove_all(tmp, ec);
    const auto bytes = fs::file_size(dest / "model.safetensors");
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"model", dest.string()},
                                  {"dtype", m_dtype},
                                  {"weights_bytes", bytes},
                                  {"weights_sha256", check.weightsSha256()},
                                  {"max_abs_weight_change", maxDiff},
                                  {"max_abs_weight", maxAbs},
                                  {"model_card_kept", !destCard.empty()}}
                       .dump(2)
                << "\n";
    } else {
        ctx.out << "Exported " << src.string() << " to " << dest.string() << " (" << m_dtype << " weights, "
                << std::fixed << std::setprecision(1) << double(bytes) / 1e6 << " MB).\n"
                << "  largest weight change from the conversion: " << std::scientific << std::setprecision(2) << maxDiff
                << " (largest weight " << maxAbs << ")\n"
                << (destCard.empty() ? "  model card: copied (or a stub): fill in its data, command and numbers\n"
                                     : "  model card: kept " + destCard + ": update its numbers\n");
    }
    return 0;
}

} // namespace larimar::cli
