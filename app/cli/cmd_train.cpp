#include "app/cli/cmd_train.h"

#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
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
    TrainConfig cfg = TrainConfig::load(m_config);
    if (!m_output.empty()) cfg.outputDir = m_output;
    if (!m_initFrom.empty()) cfg.initModel = m_initFrom;
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
             << " (memory " << s.memoryLoss << ", lm " << s.lmLoss << ")  lr " << std::scientific
             << std::setprecision(2) << s.lr << std::fixed << std::setprecision(1) << "  " << s.sequencesPerSecond
             << " seq/s  elapsed " << duration(s.elapsedSeconds) << "  ETA " << duration(s.etaSeconds);
        if (ctx.errIsTerminal) ctx.err << "\r" << line.str() << "   " << std::flush;
        else ctx.err << line.str() << "\n" << std::flush;
    };
    const TrainResult r = runTraining(cfg, o);
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

} // namespace larimar::cli
