#include "core/util/model_paths.h"

#include "core/util/error.h"
#include "larimar_paths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace larimar {
namespace fs = std::filesystem;

std::string executableDir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

std::vector<std::string> bundledModelCandidates() {
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("LARIMAR_MODEL_DIR"); env && *env) dirs.emplace_back(env);
    if (const std::string bin = executableDir(); !bin.empty())
        dirs.push_back((fs::path(bin) / LARIMAR_BINDIR_TO_DATADIR / "models" / LARIMAR_BUNDLED_MODEL)
                           .lexically_normal()
                           .string());
    dirs.push_back((fs::path(LARIMAR_BUILD_MODELS_DIR) / LARIMAR_BUNDLED_MODEL).string());
    return dirs;
}

std::string resolveModelDir(const std::string& explicitDir) {
    if (!explicitDir.empty()) {
        const fs::path p(explicitDir);
        if (fs::is_regular_file(p) && p.extension() == ".gguf") return explicitDir; // a GGUF model file
        if (!fs::exists(p / "config.json"))
            throw UserError("no model found at " + explicitDir +
                            " (no config.json there); pass --model with a model directory or a .gguf file");
        return explicitDir;
    }
    return firstModelDir(bundledModelCandidates());
}

std::string firstModelDir(const std::vector<std::string>& dirs) {
    for (const auto& d : dirs)
        if (fs::exists(fs::path(d) / "config.json")) return d;
    std::string looked;
    for (const auto& d : dirs) looked += (looked.empty() ? "" : ", ") + d;
    throw UserError("no model found (looked in " + looked + "); pass --model DIR or set LARIMAR_MODEL_DIR");
}

std::string findAssetDir(const std::string& name) {
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("LARIMAR_ASSET_DIR"); env && *env) dirs.push_back(fs::path(env) / name);
    if (const std::string bin = executableDir(); !bin.empty())
        dirs.push_back((fs::path(bin) / LARIMAR_BINDIR_TO_DATADIR / "models" / "assets" / name).lexically_normal());
    dirs.push_back(fs::path(LARIMAR_BUILD_MODELS_DIR) / "assets" / name);
    std::error_code ec;
    for (const auto& d : dirs)
        if (fs::is_directory(d, ec) && !fs::is_empty(d, ec)) return d.string();
    return {};
}

} // namespace larimar
