// twistedpic-cli models [--json]: the model catalogue.
#include "app/cli/Cli.h"
#include "core/common/Paths.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/Settings.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace tp::cli {
namespace {

QString kindLabel(const QString& kind) {
    if (kind == QLatin1String("bundled"))
        return QStringLiteral("bundled models");
    if (kind == QLatin1String("hf-cache"))
        return QStringLiteral("Hugging Face cache");
    return QStringLiteral("search path");
}

QJsonObject toJson(const io::ModelInfo& m) {
    return {{QStringLiteral("name"), m.name},
            {QStringLiteral("family"), m.family},
            {QStringLiteral("supported"), m.supported},
            {QStringLiteral("sizeBytes"), m.sizeBytes},
            {QStringLiteral("size"), io::formatSize(m.sizeBytes)},
            {QStringLiteral("precision"), m.precision},
            {QStringLiteral("source"), m.source},
            {QStringLiteral("repoId"), m.repoId},
            {QStringLiteral("folder"), m.folder},
            {QStringLiteral("format"), m.format},
            {QStringLiteral("companions"), QJsonArray::fromStringList(m.companions)},
            {QStringLiteral("missing"), QJsonArray::fromStringList(m.missingParts)},
            {QStringLiteral("problem"), m.problem}};
}

void printTable(QTextStream& out, const QVector<io::ModelInfo>& models) {
    const QStringList header{QStringLiteral("NAME"), QStringLiteral("FAMILY"),    QStringLiteral("SUPPORTED"),
                             QStringLiteral("SIZE"), QStringLiteral("PRECISION"), QStringLiteral("SOURCE"),
                             QStringLiteral("PATH")};
    QVector<QStringList> rows{header};
    for (const io::ModelInfo& m : models)
        rows.push_back({m.name, m.family, m.supported ? QStringLiteral("yes") : QStringLiteral("no"),
                        io::formatSize(m.sizeBytes),
                        m.precision.isEmpty() ? QStringLiteral("?") : m.precision, m.source, m.folder});
    QVector<int> width(header.size(), 0);
    for (const QStringList& r : rows)
        for (int i = 0; i < r.size(); ++i)
            width[i] = std::max(width[i], int(r[i].size()));
    for (int row = 0; row < rows.size(); ++row) {
        QString line;
        for (int i = 0; i < rows[row].size(); ++i)
            line += i + 1 < rows[row].size() ? rows[row][i].leftJustified(width[i] + 2) : rows[row][i];
        out << line << "\n";
        if (row == 0)
            continue;
        const io::ModelInfo& m = models[row - 1];
        if (!m.problem.isEmpty())
            out << "    " << m.problem << "\n";
        // A single SD 3.x / Flux file completed by its text encoder and VAE files.
        if (!m.companions.isEmpty())
            out << "    with " << m.companions.join(QStringLiteral(", ")) << "\n";
    }
}

int runModels(Context& ctx, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON instead of a table."));
    parser.addOption(json);
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("List the models found in the bundled models folder, the search paths "
                           "(setting models/searchPaths: diffusers folders and folders of single-file "
                           ".safetensors checkpoints) and the Hugging Face cache (HF_HUB_CACHE, "
                           "HF_HOME/hub or ~/.cache/huggingface/hub)."),
            &code))
        return code;
    if (!parser.positionalArguments().isEmpty()) {
        ctx.err << "Usage: twistedpic-cli models [--json]\n";
        return Usage;
    }

    const io::ModelCatalogue catalogue =
        io::ModelCatalogue::scan(ctx.settings.modelSearchPaths(), paths::bundledModelDirs());

    if (parser.isSet(json)) {
        QJsonArray models, searched;
        for (const io::ModelInfo& m : catalogue.models())
            models.append(toJson(m));
        for (const io::SearchedLocation& s : catalogue.searched())
            searched.append(QJsonObject{{QStringLiteral("kind"), s.kind},
                                        {QStringLiteral("path"), s.path},
                                        {QStringLiteral("exists"), s.exists}});
        ctx.out << QJsonDocument(QJsonObject{{QStringLiteral("models"), models},
                                             {QStringLiteral("searched"), searched}})
                       .toJson(QJsonDocument::Indented);
        return Ok;
    }

    if (catalogue.isEmpty()) {
        ctx.out << "No models found. Looked in:\n";
        for (const io::SearchedLocation& s : catalogue.searched())
            ctx.out << "  " << kindLabel(s.kind) << ": " << s.path << (s.exists ? "" : "  (does not exist)")
                    << "\n";
        ctx.out << "Add a folder of diffusers models or .safetensors checkpoints with 'twistedpic-cli "
                   "settings set "
                << keys::ModelSearchPaths
                << " /path/to/models', or download one with the Hugging Face CLI, e.g.\n"
                   "'huggingface-cli download stable-diffusion-v1-5/stable-diffusion-v1-5'.\n";
        return Ok;
    }
    printTable(ctx.out, catalogue.models());
    const qsizetype supported = std::count_if(catalogue.models().begin(), catalogue.models().end(),
                                              [](const io::ModelInfo& m) { return m.supported; });
    ctx.out << "\n"
            << catalogue.models().size() << (catalogue.models().size() == 1 ? " model, " : " models, ")
            << supported << " supported.\n";
    return Ok;
}

} // namespace

TP_CLI_COMMAND("models", "List the models found (bundled, search paths, Hugging Face cache)", runModels);

} // namespace tp::cli
