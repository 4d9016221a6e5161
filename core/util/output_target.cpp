#include "core/util/output_target.h"

#include "core/util/error.h"

#include <filesystem>
#include <sys/stat.h>

namespace larimar {

void checkOutputTarget(const std::string& target, const std::string& workspace) {
    namespace fs = std::filesystem;
    struct stat t{};
    const bool exists = ::stat(target.c_str(), &t) == 0;
    if (exists && !S_ISREG(t.st_mode))
        throw UserError("cannot write " + target + ": it is " +
                        (S_ISDIR(t.st_mode) ? std::string("a directory") : std::string("not a regular file (a device, FIFO or socket)")) +
                        "; name a file to export to");
    if (workspace.empty()) return;
    std::error_code ec;
    const fs::path targetPath = fs::weakly_canonical(fs::absolute(target, ec), ec);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        const std::string file = workspace + suffix;
        struct stat w{};
        const bool same = exists && ::stat(file.c_str(), &w) == 0 && w.st_dev == t.st_dev && w.st_ino == t.st_ino;
        std::error_code ec2;
        const fs::path filePath = fs::weakly_canonical(fs::absolute(file, ec2), ec2);
        if (same || (!ec && !ec2 && targetPath == filePath))
            throw UserError("cannot write " + target + ": it is " +
                            (*suffix ? "the " + std::string(suffix + 1) + " file of the workspace"
                                     : std::string("the workspace itself")) +
                            " (" + workspace + "); choose another file");
    }
}

} // namespace larimar
