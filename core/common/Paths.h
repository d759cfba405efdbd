#pragma once

#include <QString>
#include <QStringList>

// Where things live on the user's machine. Every function honours an environment
// override so that tests and packagers can move it.
namespace tp::paths {

// TWISTEDPIC_CONFIG, else ~/.config/TwistedPic/TwistedPic.conf
QString defaultConfigFile();
// XDG_STATE_HOME/TwistedPic, else ~/.local/state/TwistedPic (logs)
QString stateDir();
// ~/Pictures/TwistedPic (the platform's pictures location)
QString defaultOutputDir();
// Folders that may hold the bundled models, best first: TWISTEDPIC_DATA_DIR/models,
// <exe>/../share/twistedpic/models, the install prefix, the source tree's resources/models.
QStringList bundledModelDirs();
// Folders that may hold the tokenizers shipped with the app (the CLIP vocabulary that
// single-file checkpoints need), best first, in the same places: .../tokenizers.
QStringList bundledTokenizerDirs();
// The first existing `<dir>/<name>` of bundledTokenizerDirs() with a vocab.json,
// tokenizer.json or spiece.model ("clip", "t5"); empty if none.
QString bundledTokenizerDir(const QString& name);
// A document of the user guide by its name ("README.md", "GPU_MEMORY_TROUBLESHOOTING.md"): the
// installed copy (TWISTEDPIC_DATA_DIR/doc, <exe>/../share/doc/twistedpic, the install prefix),
// else the source tree's (README.md at its root, the others in docs/). Empty if none exists.
QString documentPath(const QString& name);
// Expands a leading "~/" to the home directory.
QString expandHome(const QString& path);

} // namespace tp::paths
