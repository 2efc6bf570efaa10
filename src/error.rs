//! The one error type of npugen. Every variant that comes from user input names the offending
//! field (or file), the value and what is allowed, in one line.

use std::path::PathBuf;

/// Errors reported to the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config text is not valid TOML or does not match the schema (unknown key, wrong type).
    #[error("{file}{line}: {field}: {message}")]
    ConfigSyntax {
        /// Config file name (or `<builtin>`).
        file: String,
        /// `:line` when known, else empty.
        line: String,
        /// Dotted path of the offending key (`array.rows`), or `config` for the whole document.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A config value has the wrong type or cannot be represented (`rows = -1`,
    /// `scale = "0.01"`): reported with the value as written and the allowed range.
    #[error("{file}{line}: {field} = {value} is not allowed: allowed {allowed}")]
    ConfigType {
        /// Config file name.
        file: String,
        /// `:line` when known, else empty.
        line: String,
        /// Dotted path of the key.
        field: String,
        /// The value as written in the file.
        value: String,
        /// The allowed range or set.
        allowed: String,
    },
    /// A config value is out of its allowed range.
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    ConfigValue {
        /// Dotted path of the field.
        field: String,
        /// The value given.
        value: String,
        /// The allowed range or set.
        allowed: String,
    },
    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input file or argument is unusable (wrong dtype, shape, value out of range, ...).
    #[error("{what}: {message}")]
    Input {
        /// The file or option.
        what: String,
        /// What is wrong, with the allowed range where there is one.
        message: String,
    },
    /// An external tool or the simulation harness failed.
    #[error("{0}")]
    Tool(String),
    /// A generator produced an inconsistent design (a bug in npugen, never in the input).
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl Error {
    /// Process exit code: 2 for bad input, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ConfigSyntax { .. }
            | Error::ConfigType { .. }
            | Error::ConfigValue { .. }
            | Error::Read { .. }
            | Error::Input { .. } => 2,
            Error::Write { .. } | Error::Tool(_) | Error::Internal(_) => 1,
        }
    }

    /// Shorthand for [`Error::ConfigValue`].
    pub fn value(field: &str, value: impl ToString, allowed: impl ToString) -> Error {
        Error::ConfigValue {
            field: field.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }
}

impl Error {
    /// Shorthand for [`Error::Input`].
    pub fn input(what: impl ToString, message: impl ToString) -> Error {
        Error::Input {
            what: what.to_string(),
            message: message.to_string(),
        }
    }
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;
