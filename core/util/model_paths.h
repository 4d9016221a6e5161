#pragma once
/// Where Larimar finds its model: one place for the CLI and the workbench.
#include <string>
#include <vector>

namespace larimar {

/// The directories searched for the bundled model, in order:
///   1. $LARIMAR_MODEL_DIR when set;
///   2. next to the running executable, as installed: <bindir>/../share/larimar-workbench/models/
///      larimar-smollm2 (the .deb, `cmake --install --prefix ANY`, a tree unpacked with dpkg -x);
///   3. the source tree this build came from (running from the build tree).
std::vector<std::string> bundledModelCandidates();

/// The model directory to use: `explicitDir` when not empty (a directory with a config.json, or a
/// .gguf file), else the first candidate holding a config.json. Throws UserError naming every place looked at when there is none.
std::string resolveModelDir(const std::string& explicitDir = {});

/// The first of dirs holding a config.json (resolveModelDir() over bundledModelCandidates()).
/// Throws UserError naming every one of dirs when none does.
std::string firstModelDir(const std::vector<std::string>& dirs);

/// A model asset directory (models/assets/<name>, e.g. "use-lite" for the scope detector's
/// sentence encoder), searched like the model: $LARIMAR_ASSET_DIR/<name> when set, the installed
/// <bindir>/../share/larimar-workbench/models/assets/<name>, the source tree's. The first that
/// exists and is not empty; empty string when there is none (callers fall back or explain).
std::string findAssetDir(const std::string& name);

/// The directory of the running executable (from /proc/self/exe); empty when unknown.
std::string executableDir();

} // namespace larimar
