#include "core/util/file_io.h"

#include "core/util/error.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace larimar {

std::string readFile(const std::string& path, std::string_view what) {
    const std::string named = what.empty() ? path : std::string(what) + " " + path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw UserError("cannot open " + named + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw UserError(path + " is a directory, not a file");
    }
    std::string out;
    if (st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            throw UserError("cannot read " + named + ": " + std::strerror(err));
        }
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

void writeFileAtomically(const std::string& path, const void* data, std::size_t size) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot write " + path + ": " + std::strerror(errno));
    const char* p = static_cast<const char*>(data);
    std::size_t left = size;
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            std::remove(tmp.c_str());
            throw Error("cannot write " + path + ": " + (n < 0 ? std::strerror(err) : "disk full"));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    // Without fsync a crash after the rename can leave an empty file under the final name.
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        throw Error("cannot write " + path + ": " + std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        throw Error("cannot write " + path + ": " + std::strerror(err));
    }
}

ScratchDirectory::ScratchDirectory(const std::string& base, const std::string& prefix) {
    std::string tmpl =
        ((base.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(base)) / (prefix + "-XXXXXX"))
            .string();
    if (!mkdtemp(tmpl.data()))
        throw UserError("cannot create a scratch directory under " + (base.empty() ? tmpl : base) + ": " +
                        std::strerror(errno));
    m_path = tmpl;
}

ScratchDirectory::~ScratchDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

} // namespace larimar
