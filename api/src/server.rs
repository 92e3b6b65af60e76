//! The HTTP server: `POST /graphql`, GraphiQL on `GET /graphql`, `GET /health` and `GET /metrics`;
//! beside it, the mailer that delivers the outbox and the scheduler that sends deadline reminders.
//!
//! The GraphQL handler reads the body itself so that every refusal (a body over the limit, a
//! batch, JSON that is not a GraphQL request) comes back as a GraphQL error body with a code,
//! and it bounds each request's time, from the first byte of its body to the last byte of its
//! answer. The listener bounds the connections (see [`crate::listener`]); CORS is answered only
//! for the configured origins.

use crate::auth::{AuthError, Authenticator};
use crate::graphql::parsed::{self, ParsedDocuments};
use crate::graphql::{self, Caller, GovflowSchema, RequestDeadline};
use crate::listener::LimitedListener;
use crate::settings::{Settings, SettingsError};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, Response, ServerError};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use govflow_engine::notify::mailer::Mailer;
use govflow_engine::{Clock, Engine, StartError, db};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

/// How long a connection may stay silent beyond the request time limit before it is closed.
const IDLE_MARGIN: Duration = Duration::from_secs(10);

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
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    schema: GovflowSchema,
    auth: Arc<Authenticator>,
    max_body_bytes: usize,
    timeout: Duration,
    /// The GraphQL documents parsed lately.
    documents: ParsedDocuments,
}

pub struct Server {
    listener: LimitedListener,
    router: Router,
    engine: Engine,
    auth: Arc<Authenticator>,
    mailer: Mailer,
    /// The longest the deadline scheduler sleeps.
    scheduler_poll: Duration,
}

/// Connects, migrates and starts the engine: what `serve` and every command that touches the
/// database share.
pub async fn open_engine(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<Engine, StartupError> {
    // A database that cannot be opened or migrated is a start-up problem of `database_url`: the
    // operator gets the setting, where it came from, and what to do (exit code 2).
    let connection = db::connect(settings.raw.database_url.trim())
        .await
        .map_err(|err| settings.error("database_url", err.to_string()))?;
    let report = db::migrate(&connection).await.map_err(|err| match err {
        // A schema newer than this binary: the fix is a newer govflow, not another database.
        govflow_engine::EngineError::Conflict(_) => StartupError::from(err),
        other => StartupError::Settings(settings.error(
            "database_url",
            format!(
                "cannot apply the migrations: {other}; check that the user may create tables in \
                 this database"
            ),
        )),
    })?;
    // The migrator's own per-migration lines are filtered out of the default log (see the
    // `cli` module), so each migration is logged once, here.
    for name in &report.applied {
        tracing::info!("applied migration {name}");
    }
    Ok(Engine::start(connection, clock, settings.config.clone()).await?)
}

impl Server {
    pub async fn build(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Server, StartupError> {
        let auth = Arc::new(Authenticator::from_settings(settings)?);
        let mailer = settings.mailer()?;
        let engine = open_engine(settings, clock).await?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|err| StartupError::Listen {
                    addr: settings.listen.to_string(),
                    err,
                })?;
        let timeout = Duration::from_secs(settings.raw.limits.request_timeout_seconds);
        let listener = LimitedListener::new(
            listener,
            settings.raw.limits.max_connections,
            timeout + IDLE_MARGIN,
        );
        let documents = ParsedDocuments::default();
        let state = AppState {
            engine: engine.clone(),
            schema: graphql::build_schema(
                engine.clone(),
                &settings.raw.limits,
                settings.raw.introspection,
                &documents,
            ),
            auth: auth.clone(),
            documents,
            max_body_bytes: settings.raw.limits.max_body_bytes,
            timeout,
        };
        let mut router = Router::new()
            .route("/graphql", get(crate::graphiql::page).post(graphql_handler))
            .route("/graphiql/{name}", get(crate::graphiql::asset))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .route("/calendar/{token}/me.ics", get(crate::calendar::my_feed))
            .route(
                "/calendar/{token}/group/{file}",
                get(crate::calendar::group_feed),
            )
            .route("/export/trends.csv", get(crate::export::trends_by_bearer))
            .route(
                "/export/{token}/trends.csv",
                get(crate::export::trends_by_feed_token),
            )
            .with_state(state);
        if let Some(cors) = cors_layer(&settings.raw.cors_origins) {
            router = router.layer(cors);
        }
        Ok(Server {
            listener,
            router,
            engine,
            auth,
            mailer,
            scheduler_poll: Duration::from_secs(settings.raw.deadlines.poll_seconds),
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

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Serves, and delivers the outbox, until `shutdown` completes; then lets the requests in
    /// flight and the mailer's round under way finish.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let mailer = tokio::spawn({
            let mailer = self.mailer.clone();
            let engine = self.engine.clone();
            let shutdown = until_stopped();
            async move { mailer.run(engine, shutdown).await }
        });
        let scheduler = tokio::spawn(govflow_engine::deadlines::scheduler::run(
            self.engine.clone(),
            self.scheduler_poll,
            until_stopped(),
        ));
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(until_stopped())
            .await;
        let _ = mailer.await;
        let _ = scheduler.await;
        served
    }
}

/// CORS for the configured origins only (the settings have checked that each parses); none
/// configured means no CORS headers, so browsers on other origins are refused.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Completes on SIGINT or SIGTERM, so that `serve` stops taking connections, lets the requests
/// in flight finish, and exits 0.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(err) => {
                tracing::warn!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.engine.ping().await {
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

/// The counters, in the Prometheus text format.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.engine.metrics().text(),
    )
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

fn too_large(state: &AppState) -> axum::response::Response {
    error_body(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BAD_REQUEST",
        &format!(
            "the request body is over the limit of {} bytes",
            state.max_body_bytes
        ),
    )
}

fn timed_out(state: &AppState, what: &str) -> axum::response::Response {
    error_body(
        StatusCode::OK,
        "TIMEOUT",
        &format!(
            "{what} past its time limit of {} s",
            state.timeout.as_secs()
        ),
    )
}

async fn handle(state: AppState, request: Request<Body>) -> axum::response::Response {
    let deadline = Instant::now() + state.timeout;
    let (parts, body) = request.into_parts();
    // A body announced as too large is refused before a byte of it is read.
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > state.max_body_bytes as u64) {
        return too_large(&state);
    }
    let bytes = match tokio::time::timeout_at(deadline, to_bytes(body, state.max_body_bytes)).await
    {
        Err(_) => {
            let mut response = timed_out(&state, "the request body was still arriving");
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            return response;
        }
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return too_large(&state),
    };
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return error_body(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "batched requests are not accepted: send one operation per request",
        );
    }
    // Straight into the request type: no JSON tree is built on the way.
    let gql_request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(err) if err.is_data() => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not a GraphQL request: {err}"),
            );
        }
        Err(err) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not JSON: {err}"),
            );
        }
    };
    let caller = authenticate(&state, &parts.headers).await;
    let operation_name = gql_request.operation_name.clone();
    // A document that does not parse is run all the same: running it reports why.
    let document = state.documents.parse(&gql_request.query);
    let mutation = document
        .as_ref()
        .is_some_and(|document| parsed::is_mutation(document, operation_name.as_deref()));
    let (caller, loader) = graphql::request_data(&state.engine, caller, mutation);
    let mut gql_request = gql_request
        .data(caller)
        .data(loader)
        .data(RequestDeadline::new(deadline.into_std()));
    if let Some(document) = &document {
        gql_request.set_parsed_query(ExecutableDocument::clone(document));
    }
    match tokio::time::timeout_at(deadline, state.schema.execute(gql_request)).await {
        Ok(mut response) => {
            if let Some(document) = &document {
                graphql::order::in_query_order(
                    &mut response.data,
                    document,
                    operation_name.as_deref(),
                );
            }
            finish(response)
        }
        Err(_) => timed_out(&state, "the request ran"),
    }
}

pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Caller {
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
