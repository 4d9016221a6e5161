#pragma once
/// `larimar key create [NAME] | list | trust FILE|NAME [--name LABEL] | export NAME`: the
/// actor's signing keys (core/store/signing.h) and the keys a workspace trusts.
#include "app/cli/command.h"

#include <string>

namespace larimar::cli {

class KeyCommand : public Command {
public:
    std::string name() const override { return "key"; }
    std::string description() const override {
        return "Signing keys: create one, list yours and the workspace's trusted keys, trust one, export one";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    CLI::App *m_create = nullptr, *m_list = nullptr, *m_trust = nullptr, *m_export = nullptr;
    std::string m_name = "default", m_target, m_label, m_reason, m_actor;
};

} // namespace larimar::cli
