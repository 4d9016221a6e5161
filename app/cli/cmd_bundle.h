#pragma once
/// `larimar import bundle FILE`: verifies an edit bundle (core/editor/edit_bundle.h) and writes
/// its facts as one audited edit naming the source workspace and the bundle's SHA-256.
/// `larimar export bundle` (cmd_export.cpp) makes one.
#include "app/cli/command.h"

#include <cstdint>
#include <string>
#include <vector>

namespace larimar::cli {

class ImportCommand : public Command {
public:
    std::string name() const override { return "import"; }
    std::string description() const override {
        return "Apply an edit bundle made by 'larimar export bundle' (verified; one audited edit)";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    CLI::App* m_bundle = nullptr;
    std::string m_file, m_reason, m_actor;
    bool m_allowDuplicate = false, m_requireTrusted = false;
};

/// "3,5-7" -> {3, 5, 6, 7} (ids for --edits and --facts); UserError naming what otherwise.
std::vector<std::int64_t> parseIdList(const std::string& text, const char* what);

} // namespace larimar::cli
