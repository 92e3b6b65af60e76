//! The end-to-end test harness: [`TestApp::spawn`] starts the real govflow server in-process on a
//! random port, with a fresh database (a temporary SQLite file, or a new PostgreSQL database when
//! `GOVFLOW_TEST_DATABASE_URL` names a server), a manual clock, an in-process SMTP server its
//! mailer delivers to, and an administrator; it offers a small GraphQL client and helpers that
//! create users with roles.

use chrono::{DateTime, TimeZone, Utc};
use govflow_api::auth::Authenticator;
use govflow_api::server::Server;
use govflow_api::settings::{RawSettings, Settings};
use govflow_engine::notify::mailer::{DrainReport, Mailer};
use govflow_engine::{Engine, ManualClock, users};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub mod figures;
pub mod smtp;

pub const TEST_SECRET: &str = "test-secret-0123456789abcdef0123456789";
pub use govflow_engine::testing::{DATABASE_ENV, TestDatabase};

/// Where the harness starts its clocks: a Monday morning in Seoul.
pub fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// A user of a test, with a token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

pub struct TestApp {
    pub address: String,
    pub engine: Engine,
    pub clock: ManualClock,
    /// The SMTP server the app's mailer sends to.
    pub smtp: smtp::TestSmtp,
    pub mailer: Mailer,
    pub admin: TestUser,
    pub client: reqwest::Client,
    pub settings: Settings,
    auth: Arc<Authenticator>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub database: TestDatabase,
}

/// The settings every test starts from: built-in defaults, a random port, a fixed secret.
pub fn base_settings(database_url: &str) -> RawSettings {
    let mut raw = Settings::builtin().expect("the built-in settings load").raw;
    raw.listen = "127.0.0.1:0".into();
    raw.database_url = database_url.to_owned();
    raw.jwt_secret = TEST_SECRET.into();
    raw.mail.transport = "log".into();
    raw
}

/// Points the mailer at `smtp`, polling every second, with a short SMTP time-out.
pub fn send_to(raw: &mut RawSettings, smtp: &smtp::TestSmtp) {
    raw.mail.transport = "smtp".into();
    raw.mail.smtp.host = "127.0.0.1".into();
    raw.mail.smtp.port = smtp.port();
    raw.mail.smtp.tls = "none".into();
    raw.mail.poll_seconds = 1;
    raw.mail.smtp.timeout_seconds = 5;
}

pub fn checked(raw: RawSettings) -> Settings {
    Settings::check(raw, BTreeMap::new(), Vec::new(), None).expect("test settings are valid")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Spawns with settings changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut RawSettings)) -> TestApp {
        let database = TestDatabase::create().await;
        let smtp = smtp::TestSmtp::start().await;
        let mut raw = base_settings(&database.url);
        send_to(&mut raw, &smtp);
        configure(&mut raw);
        let settings = checked(raw);
        TestApp::spawn_with_smtp(database, settings, smtp).await
    }

    /// An app whose background loops (the mailer, the deadline scheduler) sleep through the
    /// test, for tests that count the statements a request runs: it is returned once their first
    /// pass, at start, is over (the count has stood still for a while).
    pub async fn spawn_quiet() -> TestApp {
        let app = TestApp::spawn_with(|raw| {
            raw.mail.poll_seconds = 3600;
            raw.deadlines.poll_seconds = 3600;
        })
        .await;
        app.wait_until_idle().await;
        app
    }

    /// Waits until no statement has run for 200 ms.
    pub async fn wait_until_idle(&self) {
        wait_until_idle(&self.engine).await
    }

    pub async fn spawn_on(database: TestDatabase, settings: Settings) -> TestApp {
        let smtp = smtp::TestSmtp::start().await;
        TestApp::spawn_with_smtp(database, settings, smtp).await
    }

    async fn spawn_with_smtp(
        database: TestDatabase,
        settings: Settings,
        smtp: smtp::TestSmtp,
    ) -> TestApp {
        let clock = ManualClock::new(start_instant());
        let server = Server::build(&settings, Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        let address = format!("http://127.0.0.1:{}", server.port());
        let engine = server.engine().clone();
        let auth = server.authenticator();
        let mailer = server.mailer().clone();
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = receiver.await;
        }));
        let admin_row = users::bootstrap_admin(&engine, "admin@govflow.test", "Test Administrator")
            .await
            .expect("the administrator is created");
        let admin = TestUser {
            id: admin_row.id,
            email: admin_row.email,
            // Servers configured for RS256 or EdDSA cannot mint: their tests sign their own.
            token: auth
                .mint(admin_row.id, Duration::from_secs(3600))
                .unwrap_or_default(),
        };
        TestApp {
            address,
            engine,
            clock,
            smtp,
            mailer,
            admin,
            client: reqwest::Client::new(),
            settings,
            auth,
            shutdown: Some(sender),
            database,
        }
    }

    /// Delivers every due e-mail now, as `govflow mail drain` does, beside the server's own loop.
    pub async fn drain_mail(&self) -> DrainReport {
        self.mailer
            .drain(&self.engine)
            .await
            .expect("the outbox can be drained")
    }

    pub fn token_for(&self, user_id: Uuid) -> String {
        self.auth
            .mint(user_id, Duration::from_secs(3600))
            .expect("a token can be minted")
    }

    /// Posts a raw body to `/graphql`.
    pub async fn post(&self, body: String, token: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the server answers")
    }

    /// Runs a GraphQL operation as `user` (anonymous when `None`) and returns the whole response.
    pub async fn gql(&self, query: &str, variables: Value, user: Option<&TestUser>) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let response = self.post(body, user.map(|user| user.token.as_str())).await;
        response.json().await.expect("the response is JSON")
    }

    /// Runs an operation that must succeed; returns `data`.
    pub async fn ok(&self, query: &str, variables: Value, user: &TestUser) -> Value {
        let response = self.gql(query, variables, Some(user)).await;
        assert!(
            response.get("errors").is_none(),
            "expected success, got {response}"
        );
        response["data"].clone()
    }

    /// Creates a user through GraphQL as the administrator.
    pub async fn create_user(&self, email: &str, name: &str) -> TestUser {
        let data = self
            .ok(
                "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }",
                json!({ "input": { "email": email, "name": name } }),
                &self.admin,
            )
            .await;
        let id =
            Uuid::parse_str(data["createUser"]["id"].as_str().expect("an id")).expect("a UUID");
        TestUser {
            id,
            email: email.to_owned(),
            token: self.token_for(id),
        }
    }

    /// Grants a role as the administrator; `scope` is `forumId`, `groupId` or `memberStateId`.
    pub async fn grant(&self, user: &TestUser, role: &str, scope: &str, scope_id: &str) -> String {
        let data = self
            .ok(
                "mutation($input: AddMembershipInput!) { addMembership(input: $input) { id } }",
                json!({ "input": { "userId": user.id.to_string(), "role": role, scope: scope_id } }),
                &self.admin,
            )
            .await;
        data["addMembership"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A forum with two member states; returns (forum id, [member state ids]).
    pub async fn forum(&self, name: &str) -> (String, Vec<String>) {
        let data = self
            .ok(
                "mutation($name: String!) { createForum(input: { name: $name, settings: { timeZone: \"Asia/Seoul\" } }) { id } }",
                json!({ "name": name }),
                &self.admin,
            )
            .await;
        let forum_id = data["createForum"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut states = Vec::new();
        for (state, code) in [("Republic of Korea", "KOR"), ("Estonia", "EST")] {
            let data = self
                .ok(
                    "mutation($input: CreateMemberStateInput!) { createMemberState(input: $input) { id } }",
                    json!({ "input": { "forumId": forum_id, "name": state, "code": code } }),
                    &self.admin,
                )
                .await;
            states.push(
                data["createMemberState"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        (forum_id, states)
    }

    /// An active group of a forum, created by the administrator; returns its id.
    pub async fn group(&self, forum_id: &str, name: &str) -> String {
        let data = self
            .ok(
                "mutation($input: CreateGroupInput!) { createGroup(input: $input) { id state } }",
                json!({ "input": { "forumId": forum_id, "name": name, "theme": "Digital governance" } }),
                &self.admin,
            )
            .await;
        data["createGroup"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestApp {
    /// A document of a group, created by the administrator; returns its id.
    pub async fn document(&self, group_id: &str, kind: &str, title: &str, text: &str) -> String {
        let data = self
            .ok(
                "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { id } }",
                json!({ "input": { "groupId": group_id, "kind": kind, "title": title, "text": text } }),
                &self.admin,
            )
            .await;
        data["createDocument"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Sends an operation as `user` on a task of its own, so that a test can hold a transaction
    /// open meanwhile and see whether the request waits for it.
    pub fn spawn_gql(
        &self,
        query: &str,
        variables: Value,
        user: &TestUser,
    ) -> tokio::task::JoinHandle<Value> {
        let request = self
            .client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(&user.token)
            .json(&json!({ "query": query, "variables": variables }));
        tokio::spawn(async move {
            request
                .send()
                .await
                .expect("the server answers")
                .json::<Value>()
                .await
                .expect("the response is JSON")
        })
    }
}

/// A second server on the same database, as when several instances share one PostgreSQL.
pub struct TestPeer {
    pub address: String,
    pub engine: Engine,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestPeer {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
    }
}

impl TestApp {
    /// Starts another server on this app's database with `settings` (default: the app's own).
    pub async fn spawn_peer(&self, settings: Option<Settings>) -> TestPeer {
        let settings = settings.unwrap_or_else(|| self.settings.clone());
        let server = Server::build(&settings, Arc::new(self.clock.clone()))
            .await
            .expect("the peer server starts");
        let address = format!("http://127.0.0.1:{}", server.port());
        let engine = server.engine().clone();
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = receiver.await;
        }));
        TestPeer {
            address,
            engine,
            shutdown: Some(sender),
        }
    }

    /// Runs an operation against another server of the same database.
    pub async fn gql_at(
        &self,
        address: &str,
        query: &str,
        variables: Value,
        user: &TestUser,
    ) -> Value {
        self.client
            .post(format!("{address}/graphql"))
            .bearer_auth(&user.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("the response is JSON")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
    }
}

/// Waits until `engine` has run no statement for 200 ms.
pub async fn wait_until_idle(engine: &Engine) {
    let mut seen = engine.statements_executed();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = engine.statements_executed();
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// A copy of the shipped config folder (`workflows/` and `templates/`), for a test to change.
pub fn config_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    for folder in ["workflows", "templates"] {
        std::fs::create_dir_all(dir.path().join(folder)).expect("a config folder");
        for entry in std::fs::read_dir(root.join(folder)).expect("the shipped config") {
            let entry = entry.expect("a config file");
            std::fs::copy(
                entry.path(),
                dir.path().join(folder).join(entry.file_name()),
            )
            .expect("the config file is copied");
        }
    }
    dir
}

/// The transition that [`apply_set_with_suspend`] adds to the shipped `working_group` definition.
const SUSPEND_TRANSITION: &str = "\n[[transitions]]\nname = \"suspend\"\nfrom = [\"active\"]\nto = \"concluded\"\nroles = [\"forum_coordinator\"]\nreason_required = true\n";

/// Applies to the app's database, with `govflow workflows apply`, the shipped set with one more
/// working-group transition: `suspend`, from `active` to `concluded`, for a forum coordinator,
/// with a reason. Asserts that the command succeeds and activates the changed `working_group`;
/// returns what it printed.
pub async fn apply_set_with_suspend(app: &TestApp) -> govflow_api::cli::Outcome {
    let dir = config_copy();
    let file = dir.path().join("workflows/working_group.toml");
    let mut text = std::fs::read_to_string(&file).expect("the shipped working_group definition");
    text.push_str(SUSPEND_TRANSITION);
    std::fs::write(&file, text).expect("the changed definition is written");
    let path = dir.path().display().to_string();
    let applied = govflow_api::cli::execute(
        ["govflow", "workflows", "apply", path.as_str()],
        vec![
            ("GOVFLOW_DATABASE_URL".to_owned(), app.database.url.clone()),
            ("GOVFLOW_JWT_SECRET".to_owned(), TEST_SECRET.to_owned()),
        ],
    )
    .await;
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(
        applied.stdout.contains("activated working_group"),
        "{applied:?}"
    );
    applied
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

pub fn error_message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or("")
}
