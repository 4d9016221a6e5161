// `larimar ingest FILE`: reads a document into the workspace, one fact per sentence, as one
// audited batch edit (all or nothing: a cancelled or killed ingest writes nothing). With a paged
// memory (the default) a document of any length fits; questions over it are ordinary queries,
// each read from the page of its nearest sentence. `larimar eval longcontext` measures recall.
#include "app/cli/cmd_editor_support.h"
#include "app/cli/command.h"
#include "core/editor/longcontext.h"
#include "core/util/error.h"
#include "core/util/file_io.h"

#include <filesystem>
#include <ostream>

namespace larimar::cli {
namespace {

class IngestCommand : public Command {
public:
    std::string name() const override { return "ingest"; }
    std::string description() const override {
        return "Read a document into the workspace's memory, one fact per sentence, as one batch edit";
    }
    void setup(CLI::App& app) override {
        app.add_option("file", m_file, "A UTF-8 text file")->required()->check(CLI::ExistingFile);
        app.add_option("--reason", m_reason, "Why (recorded with the edit)");
        app.add_option("--max-sentences", m_max, "Refuse documents of more sentences than this")
            ->capture_default_str()
            ->check(CLI::PositiveNumber);
    }
    int execute(Context& ctx) override {
        const std::string text = readFile(m_file, "the document");
        const std::vector<std::string> sentences = splitSentences(text);
        if (sentences.empty()) throw UserError(m_file + " holds no sentence");
        if (static_cast<std::int64_t>(sentences.size()) > m_max)
            throw UserError(m_file + " has " + std::to_string(sentences.size()) + " sentences, more than --max-sentences " +
                            std::to_string(m_max));
        const std::string base = std::filesystem::path(m_file).filename().string();
        std::vector<FactRecord> records;
        records.reserve(sentences.size());
        for (std::size_t i = 0; i < sentences.size(); ++i) {
            FactRecord r;
            r.text = sentences[i];
            r.source = base + "#" + std::to_string(i + 1);
            records.push_back(std::move(r));
        }
        auto ed = openEditor(ctx, {}, false);
        auto bar = ctx.progress("ingest " + base);
        const EditResult r = ed->writeBatch(records, m_reason.empty() ? "ingest " + base : m_reason,
                                            [&](std::int64_t done, std::int64_t total) {
                                                if (bar) bar(total > 0 ? double(done) / double(total) : 1.0);
                                            });
        ctx.endProgress();
        const MemoryCapacity c = ed->capacity();
        if (ctx.global.json) {
            ctx.out << nlohmann::json{{"edit", r.editId},
                                      {"hash", r.hash},
                                      {"sentences", sentences.size()},
                                      {"first_fact", r.factIds.front()},
                                      {"last_fact", r.factIds.back()},
                                      {"backend", describe(ed->backendSettings())},
                                      {"pages", c.pages}}
                           .dump(2)
                    << "\n";
            return 0;
        }
        ctx.out << "ingested " << sentences.size() << " sentences of " << m_file << " as facts " << r.factIds.front()
                << "-" << r.factIds.back() << " (edit " << r.editId << ", head " << r.editId << ":" << r.hash << ")\n"
                << "memory: " << describe(ed->backendSettings()) << ", " << c.pages << (c.pages == 1 ? " page" : " pages")
                << "; ask with `larimar query`\n";
        return 0;
    }

private:
    std::string m_file, m_reason;
    std::int64_t m_max = 1'000'000;
};

} // namespace

std::unique_ptr<Command> makeIngestCommand() { return std::make_unique<IngestCommand>(); }

} // namespace larimar::cli
