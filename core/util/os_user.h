#pragma once
/// Who is running this process, for the audit trail's actor.
#include <string>

namespace larimar {

/// $USER when set and non-empty, else the OS account of the effective user id (getpwuid; a
/// service or a container often has no $USER), else "uid N". Never empty. Cost: one lookup.
std::string osUserName();

} // namespace larimar
