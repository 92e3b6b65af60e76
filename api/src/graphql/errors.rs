//! Engine errors become GraphQL errors with a stable `extensions.code` (see `docs/ERRORS.md`).
//! An INTERNAL error shows a generic message and a request id; its detail goes to the log only.

use async_graphql::{Error, ErrorExtensions};
use govflow_engine::EngineError;

pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, extensions| extensions.set("code", code))
}

pub fn internal(detail: &str) -> Error {
    let request_id = uuid::Uuid::now_v7();
    tracing::error!(%request_id, "internal error: {detail}");
    Error::new(format!(
        "internal error; quote request id {request_id} to the operator"
    ))
    .extend_with(|_, extensions| {
        extensions.set("code", "INTERNAL");
        extensions.set("requestId", request_id.to_string());
    })
}

/// Converts engine errors; `?` in a resolver goes through this.
pub fn from_engine(err: EngineError) -> Error {
    match &err {
        EngineError::Internal(detail) => internal(detail),
        EngineError::InvalidInput { field, .. } => {
            let field = field.clone();
            Error::new(err.to_string()).extend_with(move |_, extensions| {
                extensions.set("code", "INVALID_INPUT");
                extensions.set("field", field.clone());
            })
        }
        other => coded(other.code(), other.to_string()),
    }
}

/// `?` for engine results inside resolvers.
pub trait EngineResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> EngineResultExt<T> for Result<T, EngineError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(from_engine)
    }
}
