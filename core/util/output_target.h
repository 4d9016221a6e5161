#pragma once
/// Where an export may go. An export replaces its target (writeFileAtomically renames over
/// it), so a target that is the open workspace, one of SQLite's files beside it, or something
/// that is not a plain file (a device node, a directory, a FIFO) would be destroyed or misused.
#include <string>

namespace larimar {

/// Throws UserError naming target unless it is absent or a regular file, and is neither the
/// workspace file nor its "-wal", "-shm" or "-journal" file (compared by device and inode, so
/// a link or another spelling of the path is caught, and by path for companions not yet
/// created). workspace may be empty (nothing to protect). Cost: a few stat calls.
void checkOutputTarget(const std::string& target, const std::string& workspace);

} // namespace larimar
