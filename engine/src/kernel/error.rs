//! The one error type of the engine. Each variant is a refusal a caller can act on, and each maps
//! to the stable `code` the API shows (see `docs/ERRORS.md`).

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A field failed to parse, is out of bounds, or points at something of another group or forum.
    #[error("invalid `{field}`: {problem}")]
    InvalidInput { field: String, problem: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("guard `{guard}` refused: {reason}")]
    GuardFailed { guard: String, reason: String },
    #[error("{0}")]
    StaleState(String),
    #[error("{0}")]
    AlreadyClaimed(String),
    #[error("{0}")]
    Conflict(String),
    /// Anything the caller cannot fix; the detail goes to the log, never to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        EngineError::InvalidInput {
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        EngineError::NotFound(format!("no {what} with id {id}"))
    }

    /// The stable code of this error, as the API shows it in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidInput { .. } => "INVALID_INPUT",
            EngineError::NotFound(_) => "NOT_FOUND",
            EngineError::Forbidden(_) => "FORBIDDEN",
            EngineError::InvalidTransition(_) => "INVALID_TRANSITION",
            EngineError::GuardFailed { .. } => "GUARD_FAILED",
            EngineError::StaleState(_) => "STALE_STATE",
            EngineError::AlreadyClaimed(_) => "ALREADY_CLAIMED",
            EngineError::Conflict(_) => "CONFLICT",
            EngineError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DbErr> for EngineError {
    fn from(err: DbErr) -> Self {
        // A uniqueness violation that slipped past the areas' own checks is still a conflict the
        // caller can act on; everything else is internal and its text stays in the log.
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                EngineError::Conflict("a record with the same unique value already exists".into())
            }
            _ => EngineError::Internal(err.to_string()),
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;
