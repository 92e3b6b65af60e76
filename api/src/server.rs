//! The HTTP server: `POST /graphql`, GraphiQL on `GET /graphql`, and `GET /health`.
//!
//! The GraphQL handler reads the body itself so that every refusal (a body over the limit, a
//! batch, JSON that is not a GraphQL request) comes back as a GraphQL error body with a code,
//! and it bounds each request's time.

use crate::auth::{AuthError, Authenticator};
use crate::graphql::{self, Caller, GovflowSchema};
use crate::settings::{Settings, SettingsError};
use async_graphql::http::GraphiQLSource;
use async_graphql::{ErrorExtensionValues, Response, ServerError};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use govflow_engine::{Clock, Engine, StartError, db};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::Instrument;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("{0}")]
    Engine(String),
    #[error("cannot listen on {addr}: {err}")]
    Listen { addr: String, err: std::io::Error },
}

impl From<StartError> for StartupError {
    fn from(err: StartError) -> Self {
        StartupError::Engine(err.to_string())
    }
}

impl From<govflow_engine::EngineError> for StartupError {
    fn from(err: govflow_engine::EngineError) -> Self {
        StartupError::Engine(err.to_string())
    }
}

#[derive(Clone)]
struct AppState {
    engine: Engine,
    schema: GovflowSchema,
    auth: Arc<Authenticator>,
    max_body_bytes: usize,
    timeout: Duration,
}

pub struct Server {
    listener: TcpListener,
    router: Router,
    engine: Engine,
    auth: Arc<Authenticator>,
}

/// Connects, migrates and starts the engine: what `serve` and every command that touches the
/// database share.
pub async fn open_engine(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<Engine, StartupError> {
    let connection = db::connect(settings.raw.database_url.trim()).await?;
    let report = db::migrate(&connection).await?;
    for name in &report.applied {
        tracing::info!("applied migration {name}");
    }
    Ok(Engine::start(connection, clock, settings.config.clone()).await?)
}

impl Server {
    pub async fn build(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Server, StartupError> {
        let auth = Arc::new(Authenticator::from_settings(settings)?);
        let engine = open_engine(settings, clock).await?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|err| StartupError::Listen {
                    addr: settings.listen.to_string(),
                    err,
                })?;
        let state = AppState {
            engine: engine.clone(),
            schema: graphql::build_schema(
                engine.clone(),
                &settings.raw.limits,
                settings.raw.introspection,
            ),
            auth: auth.clone(),
            max_body_bytes: settings.raw.limits.max_body_bytes,
            timeout: Duration::from_secs(settings.raw.limits.request_timeout_seconds),
        };
        let router = Router::new()
            .route("/graphql", get(graphiql).post(graphql_handler))
            .route("/health", get(health))
            .with_state(state);
        Ok(Server {
            listener,
            router,
            engine,
            auth,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or(0)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn authenticator(&self) -> Arc<Authenticator> {
        self.auth.clone()
    }

    /// Serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match db::ping(state.engine.db()).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ok" })),
        ),
        Err(err) => {
            tracing::error!("health check failed: {err}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database unavailable" })),
            )
        }
    }
}

fn error_body(status: StatusCode, code: &str, message: &str) -> axum::response::Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code } }],
    });
    (status, axum::Json(body)).into_response()
}

async fn graphql_handler(
    State(state): State<AppState>,
    request: Request<Body>,
) -> axum::response::Response {
    let request_id = uuid::Uuid::now_v7();
    let span = tracing::info_span!("graphql", %request_id);
    handle(state, request).instrument(span).await
}

async fn handle(state: AppState, request: Request<Body>) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error_body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_REQUEST",
                &format!(
                    "the request body is over the limit of {} bytes",
                    state.max_body_bytes
                ),
            );
        }
    };
    let json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(json) => json,
        Err(err) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not JSON: {err}"),
            );
        }
    };
    if json.is_array() {
        return error_body(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "batched requests are not accepted: send one operation per request",
        );
    }
    let gql_request: async_graphql::Request = match serde_json::from_value(json) {
        Ok(request) => request,
        Err(err) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not a GraphQL request: {err}"),
            );
        }
    };
    let caller = authenticate(&state, &parts.headers).await;
    let mutation = graphql::is_mutation(&gql_request);
    let (caller, loader) = graphql::request_data(&state.engine, caller, mutation);
    let gql_request = gql_request.data(caller).data(loader);
    let response =
        match tokio::time::timeout(state.timeout, state.schema.execute(gql_request)).await {
            Ok(response) => response,
            Err(_) => {
                return error_body(
                    StatusCode::OK,
                    "TIMEOUT",
                    &format!(
                        "the request ran past its time limit of {} s",
                        state.timeout.as_secs()
                    ),
                );
            }
        };
    finish(response)
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Caller {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    match state.auth.authenticate(&state.engine, header).await {
        Ok(None) => Caller::Anonymous,
        Ok(Some(actor)) => Caller::User(Arc::new(actor)),
        Err(AuthError::Unauthenticated(why)) => Caller::Refused(why),
        Err(AuthError::Engine(err)) => {
            tracing::error!("authentication failed: {err}");
            Caller::Refused("the token could not be checked".into())
        }
    }
}

/// Gives every error a code: async-graphql's own parse, validation and limit errors carry none.
fn finish(mut response: Response) -> axum::response::Response {
    let mut request_error = false;
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            if is_code(error, "QUERY_TOO_COMPLEX") {
                request_error = true;
            }
            continue;
        }
        let code = if error.message.starts_with("Query is nested too deep")
            || error.message.starts_with("Query is too complex")
        {
            request_error = true;
            "QUERY_TOO_COMPLEX"
        } else if error.message.starts_with("Failed to parse")
            || error.message.starts_with("Invalid value")
        {
            // A value that does not parse as its type (an id, a date-time without an offset):
            // the caller's input, named in the message.
            request_error = error.path.is_empty();
            "INVALID_INPUT"
        } else if error.path.is_empty() {
            request_error = true;
            "BAD_REQUEST"
        } else {
            "INTERNAL"
        };
        set_code(error, code);
    }
    let status = if request_error && matches!(response.data, async_graphql::Value::Null) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = serde_json::to_value(&response).unwrap_or_else(|_| {
        serde_json::json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
    });
    (status, axum::Json(body)).into_response()
}

fn is_code(error: &ServerError, code: &str) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .is_some_and(|value| *value == async_graphql::Value::from(code))
}

fn set_code(error: &mut ServerError, code: &str) {
    let extensions = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    extensions.set("code", code);
}
