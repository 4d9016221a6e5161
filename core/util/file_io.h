#pragma once
/// The one way the engine reads a whole file (readFile) and replaces one (writeFileAtomically:
/// write a temporary file beside it, flush and fsync, then rename over the target, so a crash
/// or a full disk never leaves a half-written file under the real name).
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace larimar {

/// Throws larimar::Error naming the path and the reason; leaves no temporary file behind.
void writeFileAtomically(const std::string& path, const void* data, std::size_t size);
inline void writeFileAtomically(const std::string& path, std::string_view content) {
    writeFileAtomically(path, content.data(), content.size());
}

/// The whole file, byte for byte. `what` names it in errors ("the model config"); without it
/// the path alone. Throws UserError "cannot open [what] PATH: reason" when it is missing or
/// unreadable, "PATH is a directory, not a file", or "cannot read [what] PATH: reason" when
/// reading fails part-way (the files read are mostly ones a user named). Cost: one read pass.
std::string readFile(const std::string& path, std::string_view what = {});

/// A new directory (base/prefix-XXXXXX; base empty: the system temp directory) removed with
/// everything in it when this goes, whatever happens. UserError when it cannot be made.
class ScratchDirectory {
public:
    ScratchDirectory(const std::string& base, const std::string& prefix);
    ~ScratchDirectory();
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

} // namespace larimar
