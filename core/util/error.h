#pragma once
/// Error types of the engine. Every message is meant for a person: it says what is wrong
/// and, where it can, where (file, line, field) and what to do about it.
#include <stdexcept>
#include <string>

namespace larimar {

/// Something went wrong inside the engine or on the machine (I/O failure, corrupt state).
/// The CLI maps it to exit code 2.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The user's input is wrong and the user can fix it (bad file, unknown id, bad option).
/// The CLI maps it to exit code 1.
class UserError : public Error {
public:
    using Error::Error;
};

/// The workspace is locked by another writer for longer than the busy timeout: retryable.
/// A UserError, so the CLI exits 1 with the message, and the GUI can offer to try again.
class WorkspaceBusy : public UserError {
public:
    using UserError::UserError;
};

} // namespace larimar
