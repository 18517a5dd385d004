//! Errors crossing the plugin boundary.
use abi_stable::{std_types::RString, StableAbi};
use std::fmt;

/// What went wrong, so the host can decide (retry, skip the file, give up).
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Invalid options or arguments given to the plugin.
    Config = 0,
    /// Input could not be read (file missing, permission, network).
    Io = 1,
    /// Input is malformed (corrupt capture, bad record).
    Corrupt = 2,
    /// The plugin panicked; the panic was caught at the boundary.
    Panic = 3,
    /// The operation is not supported by this component.
    Unsupported = 4,
    /// Anything else.
    Other = 5,
}

/// An error returned by a plugin. `message` is one line meant for the user.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: RString,
}

impl PluginError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_str())
    }
}

impl std::error::Error for PluginError {}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        PluginError::io(e.to_string())
    }
}

pub type PluginResult<T> = Result<T, PluginError>;
