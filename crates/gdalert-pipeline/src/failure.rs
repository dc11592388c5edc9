//! The one retry vocabulary: how an attempt, a secret read, an AWS call or a
//! whole delivery failed.
//!
//! Every client makes one attempt and answers [`Failure`]; the shared
//! delivery path retries a [`Failure::Retry`] within the destination's
//! deadline (waiting at least `after` when the receiver asked) and hands
//! the last failure to the engine, which decides the event's fate from
//! [`Failure::is_retryable`]: a retryable one fails the invocation so
//! EventBridge retries it; a fatal one says what to fix.

use std::fmt;
use std::time::Duration;

/// How something failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try (5xx, timeout, connection error, throttled).
    /// `after` is the wait the server asked for (`Retry-After`).
    Retry {
        after: Option<Duration>,
        message: String,
    },
    /// Retrying cannot help (a 4xx other than 429, a missing permission, a
    /// wrong setting): the message says what to fix.
    Fatal { message: String },
}

impl Failure {
    pub fn retry(message: impl Into<String>) -> Failure {
        Failure::Retry {
            after: None,
            message: message.into(),
        }
    }

    pub fn fatal(message: impl Into<String>) -> Failure {
        Failure::Fatal {
            message: message.into(),
        }
    }

    /// A retryable or fatal failure, as `retryable` says.
    pub fn new(retryable: bool, message: impl Into<String>) -> Failure {
        if retryable {
            Failure::retry(message)
        } else {
            Failure::fatal(message)
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Retry { message, .. } | Failure::Fatal { message } => message,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Failure::Retry { .. })
    }

    /// The same failure with `context` before its message.
    pub fn context(self, context: impl fmt::Display) -> Failure {
        match self {
            Failure::Retry { after, message } => Failure::Retry {
                after,
                message: format!("{context}: {message}"),
            },
            Failure::Fatal { message } => Failure::Fatal {
                message: format!("{context}: {message}"),
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Failure {}
