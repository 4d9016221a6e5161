#pragma once
/// The editor's subcommands, one class each (cmd_info.cpp, cmd_write.cpp, ...). Commands that
/// change or query the memory load the model; listings, the audit and the history export open
/// only the workspace.
#include "app/cli/command.h"

#include <cstdint>
#include <string>
#include <vector>

namespace larimar::cli {

/// `larimar info`: workspace, model, counts, memory digest.
class InfoCommand : public Command {
public:
    std::string name() const override { return "info"; }
    std::string description() const override { return "Show the workspace, its model and its memory"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;
};

/// `larimar write TEXT | --file F [--format ...] [--reason R] [--actor A]`. A single fact that
/// repeats or contradicts a written one is refused, naming it, unless --replace (forget it and
/// write this one, one edit) or --allow-duplicate (write both).
class WriteCommand : public Command {
public:
    std::string name() const override { return "write"; }
    std::string description() const override { return "Write a fact, or all facts of a file as one batch"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::string m_text, m_file, m_format = "auto", m_reason, m_actor, m_subject, m_prompt, m_target;
    bool m_replace = false, m_allowDuplicate = false;
};

/// `larimar forget ID... [--reason R] [--actor A]`.
class ForgetCommand : public Command {
public:
    std::string name() const override { return "forget"; }
    std::string description() const override { return "Forget written facts (one edit)"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::vector<std::string> m_ids;
    std::string m_reason, m_actor;
};

/// `larimar facts [--state S] [--search S] [--limit N]`.
class FactsCommand : public Command {
public:
    std::string name() const override { return "facts"; }
    std::string description() const override { return "List facts"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::string m_state, m_search;
    std::int64_t m_limit = -1;
};

/// `larimar query PROMPT` and `larimar compare PROMPT` (same options; compare adds the diff).
class QueryCommand : public Command {
public:
    explicit QueryCommand(bool compare = false) : m_compare(compare) {}
    std::string name() const override { return m_compare ? "compare" : "query"; }
    std::string description() const override {
        return m_compare ? "Answer with and without memory side by side, with the words that differ"
                         : "Answer a prompt (with memory when in scope; without memory for comparison)";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    bool m_compare;
    std::string m_prompt;
    int m_maxTokens = 24;
    double m_temperature = 0.0;
    std::uint64_t m_seed = 0;
    double m_threshold = -1e300; // unset
};

/// `larimar history [--limit N] [--op OP]`.
class HistoryCommand : public Command {
public:
    std::string name() const override { return "history"; }
    std::string description() const override { return "List the edit history"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    std::int64_t m_limit = -1;
    std::string m_op;
};

/// `larimar audit verify [--expect-head ID:HASH]`: walks the hash chain; exit 1 when a row
/// does not match or the chain does not pass through the recorded head.
/// `larimar audit head`: verifies, then prints the head (newest edit id and hash) to record.
/// `larimar audit report FILE.html`: the self-contained HTML audit report (core/store/audit_report.h);
/// exit 1 when the chain fails (the report is written and says so). PDF is made by the GUI.
class AuditCommand : public Command {
public:
    std::string name() const override { return "audit"; }
    std::string description() const override { return "Check the workspace's audit chain, or print its head"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    CLI::App* m_verify = nullptr;
    CLI::App* m_head = nullptr;
    CLI::App* m_report = nullptr;
    std::string m_expectHead, m_reportFile;
    std::int64_t m_maxFacts = 0;
};

/// `larimar rollback EDIT_ID [--reason R] [--actor A]` and `larimar undo` (undo = rollback to
/// the edit before the last).
class RollbackCommand : public Command {
public:
    explicit RollbackCommand(bool undo = false) : m_undo(undo) {}
    std::string name() const override { return m_undo ? "undo" : "rollback"; }
    std::string description() const override {
        return m_undo ? "Undo the last edit (a rollback to the edit before it)"
                      : "Restore facts and memory as they were right after an edit (0: empty)";
    }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    bool m_undo;
    std::string m_edit, m_reason, m_actor;
};

/// `larimar export history FILE [--format csv|json]` | `larimar export memory FILE` (.npy).
/// `larimar export bundle FILE [--edits IDS | --facts IDS]`: an edit bundle (core/editor/edit_bundle.h).
class ExportCommand : public Command {
public:
    std::string name() const override { return "export"; }
    std::string description() const override { return "Export the history (CSV/JSON) or the memory (.npy)"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    CLI::App* m_history = nullptr;
    CLI::App* m_memory = nullptr;
    CLI::App* m_bundle = nullptr;
    std::string m_file, m_format, m_edits, m_facts;
};

/// `larimar inspect memory | weights PROMPT [--npy F] | key FACT_ID | slots [--top N]`.
class InspectCommand : public Command {
public:
    std::string name() const override { return "inspect"; }
    std::string description() const override { return "Look inside the memory: M, read weights, write keys, slots"; }
    void setup(CLI::App& app) override;
    int execute(Context& context) override;

private:
    CLI::App *m_memory = nullptr, *m_weights = nullptr, *m_key = nullptr, *m_slots = nullptr;
    std::string m_prompt, m_fact, m_npy;
    int m_top = 3;
};

} // namespace larimar::cli
