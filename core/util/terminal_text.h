#pragma once
/// Text from a workspace (fact text, reasons, actors, model output) shown to a person in a
/// terminal. Stored text is any valid UTF-8, so printed raw it can move the cursor, clear the
/// screen, set the window title (OSC), hide itself, or reorder what is shown (bidi overrides):
/// an edit could make a listing say something other than what is stored. escapeForTerminal
/// makes every such character visible instead. JSON output does not use it (JSON escapes C0
/// itself, and a program reading it must get the exact text).
#include <string>
#include <string_view>

namespace larimar {

/// The text with these characters replaced by visible escapes, everything else unchanged:
///  - C0 controls and DEL: \n \r \t \e, others \xHH (0x00-0x1F, 0x7F)
///  - C1 controls U+0080-U+009F: \u0080 .. \u009F
///  - bidi and line controls: U+061C, U+200E, U+200F, U+2028, U+2029, U+202A-U+202E,
///    U+2066-U+2069 as \u202E etc.
///  - a backslash as \\ (so an escape cannot be faked by typing one)
///  - bytes that are not valid UTF-8 as \xHH
/// O(size); pure and thread-safe.
std::string escapeForTerminal(std::string_view text);

} // namespace larimar
