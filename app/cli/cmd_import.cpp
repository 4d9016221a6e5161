#include "app/cli/cmd_import.h"

#include "core/model/pretrained.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <ostream>

namespace larimar::cli {

void ImportModelCommand::setup(CLI::App& app) {
    app.add_option("source", m_source, "A .gguf file, or a Hugging Face directory (config.json + *.safetensors)")
        ->required()
        ->check(CLI::ExistingPath);
    app.add_option("dest", m_dest, "Model directory to write")->required();
    app.add_option("--dtype", m_dtype, "How the weights are stored: f32, or f16 (half the size)")
        ->check(CLI::IsMember({"f32", "f16"}));
    app.add_flag("--force", m_force, "Replace an existing dest");
}

int ImportModelCommand::execute(Context& ctx) {
    ImportOptions o;
    o.dtype = m_dtype;
    o.force = m_force;
    o.progress = ctx.progress("converting");
    const ImportResult r = importModel(m_source, m_dest, o);
    ctx.endProgress();
    if (ctx.global.json) {
        ctx.out << nlohmann::json{{"model", m_dest},
                                  {"architecture", r.architecture},
                                  {"name", r.name},
                                  {"parameters", r.parameters},
                                  {"dtype", m_dtype},
                                  {"weights_bytes", r.weightsBytes},
                                  {"weights_sha256", r.weightsSha256},
                                  {"source_sha256", r.sourceSha256}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "Imported " << m_source << " (" << r.architecture << ", " << r.name << ", " << std::fixed
            << std::setprecision(1) << double(r.parameters) / 1e6 << "M parameters) to " << m_dest << " ("
            << m_dtype << ", " << double(r.weightsBytes) / 1e6 << " MB).\n"
            << "  use it: larimar --model " << m_dest << " query \"The capital of France is\"\n";
    return 0;
}

} // namespace larimar::cli
