#include "core/util/os_user.h"

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace larimar {

std::string osUserName() {
    if (const char* user = std::getenv("USER"); user && *user) return user;
    const uid_t uid = geteuid();
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(static_cast<std::size_t>(size > 0 ? size : 16384));
    passwd entry{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_name &&
        *found->pw_name)
        return found->pw_name;
    return "uid " + std::to_string(uid);
}

} // namespace larimar
