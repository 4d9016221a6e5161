// The core headers come first and Qt's "slots" keyword macro is undone after the Qt ones:
// Editor::slots() would otherwise expand to nothing.
#include "core/editor/editor.h"
#include "core/eval/datasets.h"
#include "core/store/audit_report.h"
#include "core/store/signing.h"
#include "core/util/error.h"

#include "ui/audit_report_file.h"
#include "ui/engine.h"
#include "ui/engine_worker.h"
#include "ui/evaluation_run.h"

#include <QFileInfo>
#include <QRegularExpression>

#include <map>
#undef slots

namespace larimar::ui {

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}
std::string ss(const QString& s) {
    return s.toStdString();
}

QString summary(const EditResult& r) {
    QString facts;
    const auto& ids = r.op == EditOp::Rollback ? r.restored : r.factIds;
    if (r.op == EditOp::Rollback)
        facts = QObject::tr("back to edit %1: %2 restored, %3 forgotten")
                    .arg(r.targetEdit)
                    .arg(r.restored.size())
                    .arg(r.forgotten.size());
    else if (ids.size() == 1)
        facts = QObject::tr("fact %1").arg(ids.front());
    else
        facts = QObject::tr("%1 facts").arg(ids.size());
    if (r.op != EditOp::Rollback && !r.forgotten.empty()) {
        QStringList old;
        for (const auto id : r.forgotten)
            old << QString::number(id);
        facts += QObject::tr(", replacing fact %1").arg(old.join(QStringLiteral(", ")));
    }
    return QObject::tr("edit %1 (%2): %3").arg(r.editId).arg(qs(toString(r.op)), facts);
}

/// "fact 12", "facts 3, 4", "3000 facts" for the Edit menu.
QString factsNamed(const std::vector<std::int64_t>& ids) {
    if (ids.size() == 1) return QObject::tr("fact %1").arg(ids.front());
    if (ids.size() <= 3) {
        QStringList s;
        for (const auto id : ids)
            s << QString::number(id);
        return QObject::tr("facts %1").arg(s.join(QStringLiteral(", ")));
    }
    return QObject::tr("%1 facts").arg(ids.size());
}

/// What undoing or redoing an edit changes, as the Edit menu names it: "Write of fact 12".
QString stepText(const Edit& e) {
    switch (e.op) {
    case EditOp::Write: {
        std::vector<std::int64_t> replaced, fresh;
        if (const auto it = e.payload.find("replaces"); it != e.payload.end() && it->is_array())
            replaced = it->get<std::vector<std::int64_t>>();
        for (const auto id : e.factIds)
            if (std::find(replaced.begin(), replaced.end(), id) == replaced.end()) fresh.push_back(id);
        if (!replaced.empty())
            return QObject::tr("Replace of %1 by %2").arg(factsNamed(replaced), factsNamed(fresh));
        return QObject::tr("Write of %1").arg(factsNamed(fresh));
    }
    case EditOp::Forget: return QObject::tr("Forget of %1").arg(factsNamed(e.factIds));
    case EditOp::Batch: return QObject::tr("Import of %1").arg(factCount(static_cast<qint64>(e.factIds.size())));
    case EditOp::Rollback:
        return QObject::tr("Rollback to edit %1").arg(e.payload.value("target_edit", std::int64_t(0)));
    case EditOp::Setting:
    case EditOp::Trust: break;
    }
    return QObject::tr("edit %1").arg(e.id);
}

QVector<TokenInfo> tokens(const GeneratedText& g) {
    QVector<TokenInfo> out;
    out.reserve(static_cast<int>(g.tokens.size()));
    for (const auto& t : g.tokens) {
        TokenInfo ti;
        ti.bytes = QByteArray::fromStdString(t.text);
        ti.text = qs(t.text);
        ti.probability = t.probability;
        for (const auto& [alt, p] : t.alternatives)
            ti.alternatives.append({qs(alt), p});
        out.append(ti);
    }
    return out;
}

QVector<double> toVector(const Eigen::RowVectorXd& v) {
    return QVector<double>(v.data(), v.data() + v.size());
}

const char* kHintChange = QT_TRANSLATE_NOOP("Engine", "Nothing was changed. Fix what the message names and try again.");

} // namespace

// --- worker --------------------------------------------------------------------------------

EngineWorker::EngineWorker() = default;
EngineWorker::~EngineWorker() = default;

/// An engine message as a person reads it: without a library's tag such as nlohmann::json's
/// "[json.exception.parse_error.101] " (it names nothing the user can act on).
static QString userMessage(const char* what) {
    static const QRegularExpression tag(QStringLiteral("\\[json\\.exception\\.[a-z_]+\\.\\d+\\]\\s*"));
    QString m = qs(what);
    m.remove(tag);
    return m.trimmed();
}

template <class F> bool EngineWorker::guarded(const QString& action, const QString& hint, F&& f) {
    try {
        f();
        return true;
    } catch (const EditCancelled& e) {
        emit failed(action, userMessage(e.what()), QString());
    } catch (const UserError& e) {
        emit failed(action, userMessage(e.what()), hint);
    } catch (const std::exception& e) {
        emit failed(action, userMessage(e.what()),
                    tr("This is a problem inside Larimar or on this machine (disk full, file not "
                       "writable, damaged model files). The workspace keeps its last committed state. "
                       "%1")
                        .arg(hint));
    }
    return false;
}

bool EngineWorker::needEditor(const QString& action) {
    if (m_editor) return false;
    emit failed(action, m_model ? tr("No workspace is open.") : tr("No model is loaded."),
                m_model ? tr("Open or create a workspace with File > Open Workspace or File > New Workspace.")
                        : tr("Start the workbench with --model DIR, or set LARIMAR_MODEL_DIR to a model "
                             "directory (one holding config.json and model.safetensors)."));
    return true;
}

EngineInfo EngineWorker::info() const {
    EngineInfo i;
    i.modelDir = m_modelDir;
    if (m_model) {
        i.modelId = qs(m_model->id());
        for (const LatentBlock& b : m_model->latentBlocks())
            i.blocks.append({qs(b.name), b.begin, b.size});
    }
    if (m_editor) {
        i.workspace = qs(m_editor->workspace().path());
        i.detector = qs(m_editor->scopeDetector().name());
        i.defaultThreshold = m_editor->scopeDetector().defaultThreshold();
        if (auto t = m_editor->workspace().meta("scope.threshold")) {
            try {
                i.defaultThreshold = std::stod(*t);
            } catch (const std::exception&) {
            }
        }
        i.slotCount = m_editor->slots();
        i.width = m_editor->width();
        i.backend = qs(describe(m_editor->backendSettings()));
        const MemoryCapacity c = m_editor->capacity();
        i.pages = c.pages;
        i.page = m_editor->visiblePage();
        i.maxFacts = c.maximum;
    }
    return i;
}

void EngineWorker::loadModel(const ModelFactory& factory, const QString& label, const ScopeFactory& scope) {
    m_editor.reset();
    m_model.reset();
    m_modelDir = label;
    m_scopeFactory = scope;
    guarded(tr("Loading the model %1").arg(label),
            tr("Start the workbench with --model DIR naming a model directory (config.json, "
               "model.safetensors, tokenizer files), or set LARIMAR_MODEL_DIR."),
            [&] {
                m_model = factory();
                if (!m_model) throw UserError("no model was made");
                emit modelLoaded(info());
            });
}

void EngineWorker::openWorkspace(const QString& path, const QString& backend) {
    const QString action = tr("Opening the workspace %1").arg(path);
    if (!m_model) return; // loading the model failed and said so; the GUI asks for a model first
    guarded(action,
            tr("Choose another workspace with File > Open Workspace, or start a new one with "
               "File > New Workspace. A workspace only opens with the model it was made with."),
            [&] {
                // Open first, swap second: a file that does not open leaves the open workspace
                // open (and the window showing it, which is then still true).
                EditorOptions o;
                if (!backend.isEmpty()) o.backend.kind = ss(backend); // a new workspace's memory
                // The actor's default key (larimar key create) signs the GUI's edits too.
                {
                    KeyStore keys;
                    if (keys.contains("default")) o.workspace.signingKey = std::make_shared<SigningKey>(keys.load("default"));
                }
                if (m_scopeFactory)
                    o.scope = m_scopeFactory.make(m_model, ss(path), [this](std::int64_t done, std::int64_t total) {
                        emit openProgress(done, total);
                    });
                auto opened = std::make_unique<Editor>(m_model, ss(path), o);
                if (o.scope && m_scopeFactory.connect) m_scopeFactory.connect(*o.scope, *opened);
                m_editor = std::move(opened);
                m_lastPrompt.clear();
                emit workspaceOpened(info());
                publishState();
            });
}

void EngineWorker::publishState() {
    auto s = std::make_shared<EngineState>();
    s->info = info();
    auto& ed = *m_editor;
    const auto edits = ed.edits();
    std::map<std::string, QString> trustedNames;
    for (const auto& t : ed.workspace().trustedKeys()) trustedNames[t.key.hex] = qs(t.name);
    std::map<std::int64_t, QString> times;
    s->edits.reserve(static_cast<int>(edits.size()));
    for (const auto& e : edits) {
        EditRow r;
        r.id = e.id;
        r.time = qs(e.timestamp);
        r.op = qs(toString(e.op));
        r.factIds = QVector<qint64>(e.factIds.begin(), e.factIds.end());
        r.actor = qs(e.actor);
        r.reason = qs(e.reason);
        r.digestBefore = qs(e.memoryDigestBefore);
        r.digestAfter = qs(e.memoryDigestAfter);
        r.modelId = qs(e.modelId);
        r.hash = qs(e.hash);
        r.signer = qs(e.signer);
        if (const auto it = trustedNames.find(e.signer); it != trustedNames.end()) r.signerName = it->second;
        times[e.id] = r.time;
        s->edits.append(r);
    }
    const auto facts = ed.facts();
    s->facts.reserve(static_cast<int>(facts.size()));
    for (const auto& f : facts) {
        FactRow r;
        r.id = f.id;
        r.text = qs(f.text);
        r.subject = qs(f.subject);
        r.relation = qs(f.relation);
        r.target = qs(f.target);
        r.source = qs(f.source);
        r.written = f.state == FactState::Written;
        if (r.written) ++s->written;
        if (f.createdEdit) {
            r.createdEdit = *f.createdEdit;
            r.createdAt = times[*f.createdEdit];
        }
        s->facts.append(r);
    }
    const Eigen::MatrixXd& m = ed.memoryMatrix();
    s->slotCount = static_cast<int>(m.rows());
    s->width = static_cast<int>(m.cols());
    s->memory.resize(static_cast<int>(m.size()));
    for (Eigen::Index k = 0; k < m.rows(); ++k)
        for (Eigen::Index c = 0; c < m.cols(); ++c)
            s->memory[static_cast<int>(k * m.cols() + c)] = m(k, c);
    const Eigen::VectorXd sv = ed.singularValues();
    s->singularValues = QVector<double>(sv.data(), sv.data() + sv.size());
    for (const auto& sf : ed.slotFacts(5)) {
        QVector<QPair<qint64, double>> top;
        for (const auto& [id, w] : sf.facts)
            top.append({id, w});
        if (sf.slot >= s->slotFacts.size()) s->slotFacts.resize(sf.slot + 1);
        s->slotFacts[sf.slot] = top;
    }
    s->slotFacts.resize(s->slotCount);
    s->digest = qs(ed.memoryDigest());
    s->lastEdit = edits.empty() ? 0 : edits.back().id;
    const UndoHistory undo = undoHistory(edits);
    if (!undo.undo.empty()) s->undoText = stepText(undo.undo.back().edit);
    if (!undo.redo.empty()) s->redoText = stepText(undo.redo.back().edit);
    const AuditReport audit = ed.verify();
    s->auditOk = audit.ok;
    s->auditBrokenEdit = audit.editId.value_or(0);
    s->auditMessage = qs(audit.message());
    if (!m_lastPrompt.empty()) {
        s->readPrompt = qs(m_lastPrompt);
        s->readWeights = toVector(ed.readWeights(m_lastPrompt));
        // Whether a query of it now would read these weights at all (out of scope it does not).
        s->readScore = ed.scopeDetector().score(m_lastPrompt).score;
        s->readThreshold = m_lastThreshold ? *m_lastThreshold : s->info.defaultThreshold;
        s->readInScope = s->readScore >= s->readThreshold;
    }
    emit stateChanged(s);
}

void EngineWorker::write(const QString& text, const QString& reason, bool allowConflicts) {
    const QString action = tr("Writing the fact");
    if (needEditor(action)) return;
    guarded(action, tr(kHintChange), [&] {
        FactMeta meta;
        meta.source = "workbench";
        // A correction written beside the fact it corrects leaves the old answer: ask first.
        if (!allowConflicts) {
            ConflictRows rows;
            for (const FactConflict& c : m_editor->conflicts(ss(text), meta))
                rows.append({c.fact.id, qs(c.fact.text), qs(toString(c.kind)), qs(describe(c)), c.score});
            if (!rows.isEmpty()) {
                emit writeConflicts(text, rows);
                return;
            }
        }
        const EditResult r = m_editor->write(ss(text), meta, ss(reason));
        emit edited(summary(r));
        publishState();
    });
}

void EngineWorker::replace(const QVector<qint64>& ids, const QString& text, const QString& reason) {
    const QString action = tr("Replacing %1").arg(factCount(ids.size()));
    if (needEditor(action)) return;
    guarded(action, tr(kHintChange), [&] {
        FactMeta meta;
        meta.source = "workbench";
        const EditResult r =
            m_editor->replace(std::vector<std::int64_t>(ids.begin(), ids.end()), ss(text), meta, ss(reason));
        emit edited(summary(r));
        publishState();
    });
}

void EngineWorker::forget(const QVector<qint64>& ids, const QString& reason) {
    const QString action = tr("Forgetting %1").arg(factCount(ids.size()));
    if (needEditor(action)) return;
    guarded(action, tr(kHintChange), [&] {
        if (reason.trimmed().isEmpty())
            throw UserError("a forget needs a reason: why the facts are forgotten is kept in the audited history");
        const EditResult r = m_editor->forget(std::vector<std::int64_t>(ids.begin(), ids.end()), ss(reason));
        emit edited(summary(r));
        publishState();
    });
}

void EngineWorker::previewImport(const QString& path) {
    guarded(tr("Reading %1").arg(QFileInfo(path).fileName()),
            tr("Fix the file at the place the message names, or choose another file. Supported: "
               "plain text (one fact per line), CSV and JSONL with a 'text' column or 'prompt' and "
               "'target', CounterFact, EasyEdit and zsRE JSON. Nothing was written."),
            [&] {
                const auto records = loadFacts(ss(path));
                auto out = std::make_shared<QVector<ImportRecord>>();
                out->reserve(static_cast<int>(records.size()));
                for (const auto& r : records)
                    out->append({qs(r.text), qs(r.subject), qs(r.prompt), qs(r.target), qs(r.source)});
                emit importPreviewReady(path, out);
            });
}

void EngineWorker::writeBatch(const ImportRecords& records, const QString& reason, const std::atomic<bool>* cancel) {
    const QString action = tr("Importing %1").arg(factCount(records ? records->size() : 0));
    if (needEditor(action)) {
        emit batchFinished(false, tr("No workspace is open; nothing was written."));
        return;
    }
    std::vector<FactRecord> facts;
    facts.reserve(static_cast<std::size_t>(records->size()));
    for (const auto& r : *records)
        facts.push_back({ss(r.text), ss(r.subject), ss(r.prompt), ss(r.target), ss(r.source)});
    try {
        const EditResult r = m_editor->writeBatch(
            facts, ss(reason), [this](std::int64_t done, std::int64_t total) { emit batchProgress(done, total); },
            cancel);
        emit edited(summary(r));
        const QString wrote = factCount(static_cast<qint64>(r.factIds.size()));
        // A cancel raised after the last check before the commit came too late: say so.
        emit batchFinished(true, cancel && cancel->load()
                                     ? tr("The cancel came after the commit: wrote %1 as edit %2. Edit > Undo "
                                          "takes them back.")
                                           .arg(wrote)
                                           .arg(r.editId)
                                     : tr("Wrote %1 as edit %2.").arg(wrote).arg(r.editId));
        publishState();
    } catch (const EditCancelled&) {
        emit batchFinished(false, tr("Import cancelled; nothing was written."));
    } catch (const std::exception& e) {
        emit batchFinished(false, tr("Import failed; nothing was written."));
        emit failed(action, userMessage(e.what()),
                    tr("Nothing was written. Fix the record the message names and import the file again."));
    }
}

void EngineWorker::rollback(qint64 editId, const QString& reason) {
    const QString action = tr("Rolling back to edit %1").arg(editId);
    if (needEditor(action)) return;
    guarded(action, tr("Choose an earlier edit than the last one. Nothing was changed."), [&] {
        emit edited(summary(m_editor->rollback(editId, ss(reason))));
        publishState();
    });
}

void EngineWorker::undo(bool redo) {
    const QString action = redo ? tr("Redoing the last undone edit") : tr("Undoing the last edit");
    if (needEditor(action)) return;
    guarded(action, tr("Nothing was changed."), [&] {
        const EditResult r = redo ? m_editor->redo("redo") : m_editor->undo("undo");
        emit edited((redo ? tr("Redone: %1") : tr("Undone: %1")).arg(summary(r)));
        publishState();
    });
}

void EngineWorker::compare(const QString& prompt, std::optional<double> threshold) {
    const QString action = tr("Answering the prompt");
    if (needEditor(action)) return;
    guarded(action, tr("Check the prompt (it must be non-empty text) and try again."), [&] {
        QueryOptions o;
        o.threshold = threshold;
        const CompareResult r = m_editor->compare(ss(prompt), o);
        CompareView v;
        v.prompt = prompt;
        v.withoutMemory = qs(r.query.withoutMemory.text);
        v.withMemory = qs(r.query.withMemory.text);
        v.withoutTokens = tokens(r.query.withoutMemory);
        v.withTokens = tokens(r.query.withMemory);
        for (const auto& d : r.diff)
            v.diff.append({d.kind == DiffSegment::Kind::Same      ? 0
                           : d.kind == DiffSegment::Kind::Removed ? 1
                                                                  : 2,
                           qs(d.text)});
        v.differs = r.differs;
        v.inScope = r.query.inScope;
        v.score = r.query.scope.score;
        v.threshold = r.query.threshold;
        v.detector = qs(r.query.detector);
        v.nearestFactId = r.query.scope.nearestFactId.value_or(0);
        v.nearestText = qs(r.query.scope.nearestText);
        // Out of scope the query reads nothing; the memory panel still shows where the prompt
        // would read.
        v.readWeights = r.query.readWeights.size() > 0 ? toVector(r.query.readWeights)
                                                       : toVector(m_editor->readWeights(ss(prompt)));
        m_lastPrompt = ss(prompt);
        m_lastThreshold = threshold;
        v.lastEdit = m_editor->lastEditId().value_or(0);
        v.written = m_editor->workspace().factCount(FactState::Written);
        v.digest = qs(m_editor->memoryDigest());
        emit compared(v);
    });
}

void EngineWorker::writeKey(qint64 factId) {
    if (!m_editor) return;
    guarded(tr("Reading the write key of fact %1").arg(factId), QString(), [&] {
        const auto key = m_editor->writeKey(factId);
        emit writeKeyReady(factId, QVector<double>(key.begin(), key.end()));
    });
}

void EngineWorker::setWorkspaceThreshold(double threshold) {
    const QString action = tr("Storing the scope threshold");
    if (needEditor(action)) return;
    guarded(action, tr("Check that the workspace file is writable."), [&] {
        m_editor->workspace().setMeta("scope.threshold", QString::number(threshold, 'g', 6).toStdString());
        emit thresholdSaved(threshold);
        publishState(); // the setting is an audited edit: the History shows it at once
    });
}

void EngineWorker::exportMemory(const QString& path) {
    const QString action = tr("Exporting the memory to %1").arg(path);
    if (needEditor(action)) return;
    guarded(action, tr("Choose a folder you can write to."), [&] {
        m_editor->exportMemoryNpy(ss(path));
        emit memoryExported(path);
    });
}

void EngineWorker::exportHistory(const QString& path) {
    const QString action = tr("Exporting the history to %1").arg(path);
    if (needEditor(action)) return;
    guarded(action, tr("Choose a folder you can write to."), [&] {
        m_editor->exportHistory(ss(path), path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive) ? "json" : "csv");
        emit historyExported(path);
    });
}

void EngineWorker::writeAuditReport(const QString& path) {
    const QString action = tr("Writing the audit report to %1").arg(path);
    if (needEditor(action)) return;
    guarded(action, tr("Choose a folder you can write to, and a name ending in .html or .pdf."), [&] {
        AuditReportOptions o;
        o.generator = "Larimar Workbench";
        o.generatedBy = m_editor->actor();
        const auto doc = makeAuditReport(m_editor->workspace(), o);
        writeAuditReportFile(path, doc.html, m_editor->workspace().path());
        emit auditReportWritten(path, doc.verification.ok, QString::fromStdString(doc.verification.message()));
    });
}

void EngineWorker::evaluate(const EvalRequest& request, const std::atomic<bool>* cancel) {
    const QString action = tr("Evaluating %1").arg(QFileInfo(request.file).fileName());
    EvalOutcomePtr outcome;
    if (!m_model) {
        emit failed(action, tr("No model is loaded."),
                    tr("Start the workbench with --model DIR, or set LARIMAR_MODEL_DIR to a model directory."));
    } else {
        guarded(action,
                tr("Choose a CounterFact (ROME or EasyEdit schema) or zsRE file, or fix the record the message "
                   "names."),
                [&] {
                    outcome = runEvaluation(
                        *m_model, request, [this](int done, int total) { emit evaluationProgress(done, total); },
                        cancel);
                });
    }
    if (!outcome) {
        auto failedOutcome = std::make_shared<EvalOutcome>();
        failedOutcome->request = request;
        failedOutcome->error = tr("failed");
        outcome = failedOutcome;
    }
    emit evaluationFinished(outcome);
}

// --- engine (GUI thread) -------------------------------------------------------------------

Engine::Engine(QObject* parent)
    : QObject(parent), m_cancel(std::make_shared<std::atomic<bool>>(false)),
      m_evalCancel(std::make_shared<std::atomic<bool>>(false)) {
    qRegisterMetaType<EngineInfo>();
    qRegisterMetaType<EvalRequest>();
    qRegisterMetaType<EvalOutcomePtr>();
    qRegisterMetaType<EngineStatePtr>();
    qRegisterMetaType<CompareView>();
    qRegisterMetaType<ImportRecords>();
    qRegisterMetaType<ConflictRows>();
    m_thread.setObjectName(QStringLiteral("larimar-engine"));
    m_worker = new EngineWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);

    auto* w = m_worker;
    connect(w, &EngineWorker::modelLoaded, this, [this](const EngineInfo& i) {
        m_info = i;
        emit modelLoaded(i);
    });
    connect(w, &EngineWorker::workspaceOpened, this, [this](const EngineInfo& i) {
        m_info = i;
        m_hasWorkspace = true;
        emit workspaceOpened(i);
    });
    connect(w, &EngineWorker::stateChanged, this, [this](const EngineStatePtr& s) {
        m_state = s;
        m_info = s->info;
        emit stateChanged(s);
    });
    connect(w, &EngineWorker::compared, this, &Engine::compared);
    connect(w, &EngineWorker::writeKeyReady, this, &Engine::writeKeyReady);
    connect(w, &EngineWorker::importPreviewReady, this, &Engine::importPreviewReady);
    connect(w, &EngineWorker::writeConflicts, this, &Engine::writeConflicts);
    connect(w, &EngineWorker::batchProgress, this, &Engine::batchProgress);
    connect(w, &EngineWorker::openProgress, this, &Engine::openProgress);
    connect(w, &EngineWorker::batchFinished, this, &Engine::batchFinished);
    connect(w, &EngineWorker::edited, this, &Engine::edited);
    connect(w, &EngineWorker::historyExported, this, &Engine::historyExported);
    connect(w, &EngineWorker::memoryExported, this, &Engine::memoryExported);
    connect(w, &EngineWorker::auditReportWritten, this, &Engine::auditReportWritten);
    connect(w, &EngineWorker::thresholdSaved, this, [this](double t) {
        m_info.defaultThreshold = t;
        emit thresholdSaved(t);
    });
    connect(w, &EngineWorker::evaluationProgress, this, &Engine::evaluationProgress);
    connect(w, &EngineWorker::evaluationFinished, this, [this](const EvalOutcomePtr& outcome) {
        m_evaluations = std::max(0, m_evaluations - 1);
        emit evaluationFinished(outcome);
    });
    connect(w, &EngineWorker::failed, this, &Engine::failed);
    connect(w, &EngineWorker::jobDone, this, [this] {
        if (--m_pending == 0) {
            emit busyChanged(false);
            emit idle();
        }
    });
    m_thread.start();
}

Engine::~Engine() {
    m_cancel->store(true);
    m_evalCancel->store(true);
    m_thread.requestInterruption();
    m_thread.quit();
    m_thread.wait();
}

void Engine::dispatch(std::function<void(EngineWorker&)> job) {
    if (m_pending++ == 0) emit busyChanged(true);
    EngineWorker* w = m_worker;
    QMetaObject::invokeMethod(
        w,
        [w, job = std::move(job)] {
            if (!QThread::currentThread()->isInterruptionRequested()) job(*w);
            emit w->jobDone();
        },
        Qt::QueuedConnection);
}

void Engine::loadModel(ModelFactory factory, const QString& label, ScopeFactory scope) {
    m_hasWorkspace = false;
    dispatch([factory = std::move(factory), label, scope = std::move(scope)](EngineWorker& w) {
        w.loadModel(factory, label, scope);
    });
}

void Engine::openWorkspace(const QString& path, const QString& backend) {
    dispatch([path, backend](EngineWorker& w) { w.openWorkspace(path, backend); });
}

void Engine::write(const QString& text, const QString& reason, bool allowConflicts) {
    dispatch([text, reason, allowConflicts](EngineWorker& w) { w.write(text, reason, allowConflicts); });
}

void Engine::replace(const QVector<qint64>& factIds, const QString& text, const QString& reason) {
    dispatch([factIds, text, reason](EngineWorker& w) { w.replace(factIds, text, reason); });
}

void Engine::forget(const QVector<qint64>& factIds, const QString& reason) {
    dispatch([factIds, reason](EngineWorker& w) { w.forget(factIds, reason); });
}

void Engine::previewImport(const QString& path) {
    dispatch([path](EngineWorker& w) { w.previewImport(path); });
}

void Engine::writeBatch(const ImportRecords& records, const QString& reason) {
    // A fresh flag per batch: cancelling one batch never cancels the next.
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    dispatch([records, reason, cancel = m_cancel](EngineWorker& w) { w.writeBatch(records, reason, cancel.get()); });
}

void Engine::cancelBatch() {
    m_cancel->store(true);
}

void Engine::rollback(qint64 editId, const QString& reason) {
    dispatch([editId, reason](EngineWorker& w) { w.rollback(editId, reason); });
}

void Engine::undo() {
    dispatch([](EngineWorker& w) { w.undo(false); });
}

void Engine::redo() {
    dispatch([](EngineWorker& w) { w.undo(true); });
}

void Engine::compare(const QString& prompt, std::optional<double> threshold) {
    dispatch([prompt, threshold](EngineWorker& w) { w.compare(prompt, threshold); });
}

void Engine::requestWriteKey(qint64 factId) {
    dispatch([factId](EngineWorker& w) { w.writeKey(factId); });
}

void Engine::setWorkspaceThreshold(double threshold) {
    dispatch([threshold](EngineWorker& w) { w.setWorkspaceThreshold(threshold); });
}

void Engine::exportMemory(const QString& path) {
    dispatch([path](EngineWorker& w) { w.exportMemory(path); });
}

void Engine::writeAuditReport(const QString& path) {
    dispatch([path](EngineWorker& w) { w.writeAuditReport(path); });
}

void Engine::exportHistory(const QString& path) {
    dispatch([path](EngineWorker& w) { w.exportHistory(path); });
}

void Engine::evaluate(const EvalRequest& request) {
    // A fresh flag per run: cancelling one run never cancels the next.
    m_evalCancel = std::make_shared<std::atomic<bool>>(false);
    ++m_evaluations;
    dispatch([request, cancel = m_evalCancel](EngineWorker& w) { w.evaluate(request, cancel.get()); });
}

void Engine::cancelEvaluation() {
    m_evalCancel->store(true);
}

void Engine::post(std::function<void()> job) {
    dispatch([job = std::move(job)](EngineWorker&) { job(); });
}

} // namespace larimar::ui
