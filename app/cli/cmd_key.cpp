#include "app/cli/cmd_key.h"
#include "app/cli/cmd_editor_support.h"

#include "core/store/signing.h"
#include "core/store/workspace.h"
#include "core/util/error.h"
#include "core/util/file_io.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

namespace larimar::cli {
namespace {

// FILE (a PEM public key) when such a file exists, else a key name in the key directory.
std::pair<PublicKey, std::string> resolvePublicKey(const std::string& target) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(target, ec)) {
        return {PublicKey::fromPem(readFile(target), "'" + target + "'"), std::filesystem::path(target).stem().string()};
    }
    KeyStore store;
    if (target.find('/') != std::string::npos || !store.contains(target))
        throw UserError("'" + target + "' is neither a public key file nor a key in " + store.directory() +
                        " (see 'larimar key list')");
    return {store.publicKey(target), target};
}

} // namespace

void KeyCommand::setup(CLI::App& app) {
    app.require_subcommand(1);
    m_create = app.add_subcommand("create", "Make a key pair in $XDG_CONFIG_HOME/larimar/keys (private key mode 0600)");
    m_create->add_option("name", m_name, "Key name (default: 'default', the key edits are signed with unless --key says otherwise)");
    m_list = app.add_subcommand("list", "List your keys and the keys the workspace trusts");
    m_trust = app.add_subcommand("trust", "Add a public key to the keys the workspace trusts (a signed, audited edit)");
    m_trust->add_option("key", m_target, "A public key file (PEM, from 'larimar key export') or one of your key names")
        ->required();
    m_trust->add_option("--name", m_label, "Who holds the key (default: the key or file name)");
    m_trust->add_option("--reason", m_reason, "Why, for the history");
    m_trust->add_option("--actor", m_actor, "Who trusts it (default: $USER)");
    m_export = app.add_subcommand("export", "Print a key's public half (PEM), for another workspace to trust");
    m_export->add_option("name", m_target, "Key name")->required();
}

int KeyCommand::execute(Context& ctx) {
    if (m_create->parsed()) {
        KeyStore store;
        const KeyInfo k = store.create(m_name);
        if (ctx.global.json) {
            ctx.out << nlohmann::json{{"name", k.name}, {"public_key", k.publicKey.hex},
                                      {"private_key_file", k.privateKeyPath}, {"public_key_file", k.publicKeyPath}}
                           .dump(2)
                    << "\n";
        } else {
            ctx.out << "created key '" << k.name << "' (" << k.publicKey.shortId() << ")\n"
                    << "  private key " << k.privateKeyPath << " (mode 0600; keep it, never share it)\n"
                    << "  public key  " << k.publicKeyPath << "\n";
            if (k.name == "default") ctx.out << "edits are now signed with it unless --key names another\n";
        }
        return 0;
    }
    if (m_export->parsed()) {
        const PublicKey k = KeyStore().publicKey(m_target);
        if (ctx.global.json)
            ctx.out << nlohmann::json{{"name", m_target}, {"public_key", k.hex}, {"pem", k.pem()}}.dump(2) << "\n";
        else
            ctx.out << k.pem();
        return 0;
    }
    if (m_trust->parsed()) {
        auto [key, stem] = resolvePublicKey(m_target);
        const std::string path = workspacePath(ctx.global);
        const auto parent = std::filesystem::path(path).parent_path();
        std::error_code ec;
        if (!parent.empty() && !std::filesystem::exists(parent)) std::filesystem::create_directories(parent, ec);
        WorkspaceOptions o;
        o.signingKey = signingKey(ctx);
        o.actor = m_actor;
        Workspace ws(path, o);
        const Edit e = ws.trustKey(key, m_label.empty() ? stem : m_label, m_actor, m_reason);
        if (ctx.global.json) {
            auto j = editJson(e);
            j["head"] = std::to_string(e.id) + ":" + e.hash;
            ctx.out << j.dump(2) << "\n";
        } else {
            ctx.out << "edit " << e.id << " (trust): workspace " << ws.path() << " now trusts key "
                    << shown(e.payload.value("name", std::string())) << " (" << key.shortId() << "), signed by "
                    << o.signingKey->name() << " (" << o.signingKey->publicKey().shortId() << ")\n";
            printChainHead(ctx.out, e.id, e.hash);
        }
        return 0;
    }
    // list
    KeyStore store;
    const auto mine = store.list();
    std::vector<TrustedKey> trusted;
    bool haveWorkspace = false;
    const std::string path = workspacePath(ctx.global);
    if (std::filesystem::exists(path)) {
        auto ws = openWorkspace(ctx, true);
        trusted = ws->trustedKeys();
        haveWorkspace = true;
    }
    const auto trustedAs = [&](const PublicKey& k) -> const TrustedKey* {
        for (const auto& t : trusted)
            if (t.key == k) return &t;
        return nullptr;
    };
    if (ctx.global.json) {
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& k : mine) {
            const auto* t = trustedAs(k.publicKey);
            keys.push_back({{"name", k.name}, {"public_key", k.publicKey.hex}, {"private_key_file", k.privateKeyPath},
                            {"trusted", t != nullptr}});
        }
        nlohmann::json tr = nlohmann::json::array();
        for (const auto& t : trusted)
            tr.push_back({{"name", t.name}, {"public_key", t.key.hex}, {"edit_id", t.editId}, {"actor", t.actor}});
        ctx.out << nlohmann::json{{"key_directory", store.directory()}, {"keys", keys}, {"workspace", path},
                                  {"trusted", tr}}
                       .dump(2)
                << "\n";
        return 0;
    }
    ctx.out << "your keys (" << store.directory() << "):\n";
    if (mine.empty()) ctx.out << "  none (create one with 'larimar key create')\n";
    for (const auto& k : mine) {
        ctx.out << "  " << k.name << "  " << k.publicKey.shortId();
        if (const auto* t = trustedAs(k.publicKey)) ctx.out << "  trusted here as '" << shown(t->name) << "'";
        ctx.out << "\n";
    }
    if (!haveWorkspace) {
        ctx.out << "no workspace at " << path << "\n";
        return 0;
    }
    ctx.out << "keys workspace " << path << " trusts:\n";
    if (trusted.empty()) ctx.out << "  none (its edits need no signature; 'larimar key trust' starts signing)\n";
    for (const auto& t : trusted)
        ctx.out << "  " << shown(t.name) << "  " << t.key.shortId() << "  edit " << t.editId << " by "
                << shown(t.actor) << "\n";
    return 0;
}

} // namespace larimar::cli
