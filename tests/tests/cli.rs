//! The command line: bootstrapping an administrator, minting a token that the server accepts,
//! switching the active workflow set with `workflows apply`, the help texts, and what an operator
//! sees when the database cannot be opened or the logs go to a file.
//!
//! Some tests run `govflow` as a process of its own ([`govflow_process`]), so that the real entry
//! point (logging set-up, printing, exit code) runs with its output on pipes, as under a service
//! manager.

use govflow_api::cli::{Outcome, execute};
use govflow_tests::{DATABASE_ENV, TEST_SECRET, TestApp, TestDatabase, base_settings, checked};
use serde_json::json;
use std::time::{Duration, Instant};

/// Tells this test binary, started again by [`govflow_process`], to act as `govflow` with these
/// arguments (one per line). A `GOVFLOW_TEST_*` name, so the settings never read it.
const PROCESS_ARGS: &str = "GOVFLOW_TEST_PROCESS_ARGS";
/// Printed by the child before it runs the command: the test harness's own lines come before it.
const OUTPUT_MARKER: &str = "<<govflow output>>\n";

/// What a `govflow` process printed, and how it ended.
#[derive(Debug)]
pub(crate) struct Process {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `govflow ARGS` as a process of its own, with only the environment `env`, in an empty
/// temporary folder: this test binary again, running only [`run_as_govflow`].
pub(crate) fn govflow_process(args: &[&str], env: &[(&str, &str)]) -> Process {
    let folder = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = govflow_command(args, env, folder.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stdout = match stdout.split_once(OUTPUT_MARKER) {
        Some((_, ours)) => ours.to_owned(),
        None => stdout,
    };
    Process {
        code: output.status.code(),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The command that runs `govflow ARGS` with only the environment `env`, in `folder`: this test
/// binary again, running only [`run_as_govflow`].
pub(crate) fn govflow_command(
    args: &[&str],
    env: &[(&str, &str)],
    folder: &std::path::Path,
) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "cli::run_as_govflow",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(PROCESS_ARGS, args.join("\n"))
        .envs(env.iter().copied())
        .current_dir(folder);
    command
}

/// Only does something in a process started by [`govflow_command`]: there it is `govflow`.
#[test]
fn run_as_govflow() {
    let Ok(args) = std::env::var(PROCESS_ARGS) else {
        return;
    };
    print!("{OUTPUT_MARKER}");
    let args = std::iter::once("govflow".to_owned()).chain(
        args.split('\n')
            .filter(|arg| !arg.is_empty())
            .map(str::to_owned),
    );
    let code = govflow_api::cli::run_process(args);
    std::process::exit(i32::from(code));
}

/// A local port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `host:port` and the URL prefix (`postgres://user@host:port`) of the PostgreSQL server to test
/// against: the test server if one is configured, else the usual local one. `None` when no
/// server is configured and none answers locally: then there is nothing to test against.
fn postgres_server() -> Option<(String, String)> {
    let configured = std::env::var(DATABASE_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty());
    let base = configured
        .clone()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (prefix, _) = base.trim().rsplit_once('/').unwrap();
    let authority = prefix.rsplit('@').next().unwrap();
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:5432")
    };
    let answers = address
        .parse::<std::net::SocketAddr>()
        .ok()
        .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .is_some();
    if !answers {
        assert!(
            configured.is_none(),
            "the PostgreSQL server of {DATABASE_ENV} does not answer on {address}"
        );
        eprintln!("no PostgreSQL server on {address}: skipped");
        return None;
    }
    Some((address, prefix.to_owned()))
}

fn env(database: &str) -> Vec<(String, String)> {
    vec![
        ("GOVFLOW_DATABASE_URL".into(), database.into()),
        ("GOVFLOW_JWT_SECRET".into(), TEST_SECRET.into()),
    ]
}

/// `govflow token` for `root@example.org`, living `ttl`, on the database `url`.
async fn root_token(url: &str, ttl: &str) -> Outcome {
    execute(
        [
            "govflow",
            "token",
            "--email",
            "root@example.org",
            "--ttl",
            ttl,
        ],
        env(url),
    )
    .await
}

/// Runs `govflow ARGS` as a process of its own (see [`govflow_process`]) and asserts that it is
/// refused at start (exit code 2) naming the setting `database_url` as `origin` gave it
/// (`GOVFLOW_DATABASE_URL` or `--database`).
fn database_refused(args: &[&str], env: &[(&str, &str)], origin: &str) -> Process {
    let outcome = govflow_process(args, env);
    assert_eq!(outcome.code, Some(2), "{outcome:?}");
    assert!(
        outcome
            .stderr
            .contains(&format!("setting `database_url` ({origin})")),
        "{outcome:?}"
    );
    outcome
}

/// `govflow migrate` with the database `url` and the secret in the environment, which must refuse
/// the database (see [`database_refused`]).
fn migrate_refused(url: &str) -> Process {
    database_refused(
        &["migrate"],
        &[
            ("GOVFLOW_DATABASE_URL", url),
            ("GOVFLOW_JWT_SECRET", TEST_SECRET),
        ],
        "GOVFLOW_DATABASE_URL",
    )
}

/// `govflow serve` on a random port with the database `url` on the command line and only `env`,
/// which must refuse the database (see [`database_refused`]).
fn serve_refused(url: &str, env: &[(&str, &str)]) -> Process {
    database_refused(
        &["serve", "--listen", "127.0.0.1:0", "--database", url],
        env,
        "--database",
    )
}

#[tokio::test]
async fn admin_create_and_token_give_a_working_login() {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    let created = execute(
        [
            "govflow",
            "admin",
            "create",
            "--email",
            "Root@Example.org",
            "--name",
            "Root",
        ],
        env(&url),
    )
    .await;
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        created
            .stdout
            .contains("administrator Root <Root@Example.org>"),
        "{created:?}"
    );

    let minted = root_token(&url, "1h").await;
    assert_eq!(minted.code, 0, "{minted:?}");
    let token = minted.stdout.trim().to_owned();

    let bad_ttl = root_token(&url, "soon").await;
    assert_eq!(bad_ttl.code, 2, "{bad_ttl:?}");
    let nobody = execute(
        ["govflow", "token", "--email", "nobody@example.org"],
        env(&url),
    )
    .await;
    assert_eq!(nobody.code, 1, "{nobody:?}");
    assert!(nobody.stderr.contains("no user"), "{nobody:?}");

    let app = TestApp::spawn_on(database, checked(base_settings(&url))).await;
    let body = json!({ "query": "{ me { email isAdmin } }" }).to_string();
    let response: serde_json::Value = app.post(body, Some(&token)).await.json().await.unwrap();
    assert_eq!(
        response["data"]["me"]["email"], "Root@Example.org",
        "{response}"
    );
    assert_eq!(response["data"]["me"]["isAdmin"], true);
}

#[tokio::test]
async fn workflows_apply_switches_the_set_and_old_subjects_keep_their_version() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let old_group = app.group(&forum, "Digital Governance").await;

    // A changed working_group: one more transition.
    let applied = govflow_tests::apply_set_with_suspend(&app).await;
    assert!(
        applied.stdout.contains("retired working_group"),
        "{applied:?}"
    );

    // A server started now runs the active set from the database, whatever its own folder says.
    let peer = app.spawn_peer(None).await;
    let new_group = app
        .gql_at(
            &peer.address,
            "mutation($f: ID!) { createGroup(input: { forumId: $f, name: \"Data Governance\", theme: \"Data\" }) { id } }",
            json!({ "f": forum }),
            &app.admin,
        )
        .await;
    let new_group = new_group["data"]["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = "query($id: ID!) { group(id: $id) { availableTransitions { name } history { edges { node { definitionVersion } } } } }";
    let names = |data: &serde_json::Value| -> Vec<String> {
        data["data"]["group"]["availableTransitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let old = app
        .gql_at(&peer.address, query, json!({ "id": old_group }), &app.admin)
        .await;
    let new = app
        .gql_at(&peer.address, query, json!({ "id": new_group }), &app.admin)
        .await;
    assert_eq!(names(&old), vec!["conclude"], "{old}");
    assert_eq!(names(&new), vec!["conclude", "suspend"], "{new}");
    assert_ne!(
        old["data"]["group"]["history"]["edges"][0]["node"]["definitionVersion"],
        new["data"]["group"]["history"]["edges"][0]["node"]["definitionVersion"]
    );
}

#[test]
fn postgres_on_a_closed_port_fails_at_once_naming_the_setting() {
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/govflow");
    let migrate = migrate_refused(&url);
    assert!(
        migrate.elapsed < Duration::from_secs(10),
        "took {:?}",
        migrate.elapsed
    );
    assert!(
        migrate.stderr.contains(&format!(
            "cannot connect to PostgreSQL on 127.0.0.1:{port} as user `postgres`: connection refused; is the server running on 127.0.0.1:{port}?"
        )),
        "{migrate:?}"
    );
    assert!(!migrate.stderr.contains("internal error"), "{migrate:?}");

    // The same from `serve`, with the URL on the command line.
    let serve = serve_refused(&url, &[("GOVFLOW_JWT_SECRET", TEST_SECRET)]);
    assert!(serve.stderr.contains("connection refused"), "{serve:?}");
}

#[test]
fn a_missing_postgres_database_or_role_says_how_to_create_it() {
    let Some((address, prefix)) = postgres_server() else {
        return;
    };
    let (host, port) = address.rsplit_once(':').unwrap();
    let name = format!("govflow_missing_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{prefix}/{name}");
    let outcome = migrate_refused(&url);
    assert!(
        outcome.stderr.contains(&format!(
            "cannot open database `{name}` on PostgreSQL {address}: it does not exist"
        )),
        "{outcome:?}"
    );
    assert!(
        outcome
            .stderr
            .contains(&format!("createdb -h {host} -p {port}")),
        "{outcome:?}"
    );
    assert!(!outcome.stderr.contains("internal error"), "{outcome:?}");

    let role = format!("govflow_nobody_{}", uuid::Uuid::new_v4().simple());
    let url = format!("postgres://{role}@{address}/postgres");
    let outcome = database_refused(
        &["migrate", "--database", url.as_str()],
        &[("GOVFLOW_JWT_SECRET", TEST_SECRET)],
        "--database",
    );
    assert!(outcome.stderr.contains(&role), "{outcome:?}");
    // A server that checks passwords does not say whether the role exists; one that trusts
    // local connections does, and then the remedy is to create it.
    assert!(
        outcome.stderr.contains("createuser") || outcome.stderr.contains("password"),
        "{outcome:?}"
    );
}

#[test]
fn sqlite_in_a_missing_folder_names_the_folder_not_the_secret() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("not-made-yet");
    let url = format!("sqlite://{}", folder.join("govflow.db").display());
    let expected = format!("the folder `{}` does not exist", folder.display());

    // Without a secret, one would be generated beside the database: the folder is still named.
    let serve = serve_refused(&url, &[]);
    assert!(serve.stderr.contains(&expected), "{serve:?}");
    assert!(
        serve
            .stderr
            .contains(&format!("mkdir -p {}", folder.display())),
        "{serve:?}"
    );
    assert!(!serve.stderr.contains("jwt_secret"), "{serve:?}");

    // With a secret, the database itself is the first thing opened.
    let migrate = migrate_refused(&url);
    assert!(migrate.stderr.contains(&expected), "{migrate:?}");
    assert!(!folder.exists(), "nothing is created on the way");
}

#[test]
fn logs_on_a_pipe_are_plain_and_name_each_migration_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(TestDatabase::create());
    let env = [
        ("GOVFLOW_DATABASE_URL", database.url.as_str()),
        ("GOVFLOW_JWT_SECRET", TEST_SECRET),
    ];
    let args = [
        "admin",
        "create",
        "--email",
        "root@example.org",
        "--name",
        "Root",
    ];
    let first = govflow_process(&args, &env);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(first.stdout.starts_with("administrator Root"), "{first:?}");
    assert!(!first.stderr.contains('\u{1b}'), "colour codes: {first:?}");
    let applied: Vec<&str> = first
        .stderr
        .lines()
        .filter_map(|line| line.split("applied migration ").nth(1))
        .collect();
    assert!(!applied.is_empty(), "{first:?}");
    for name in &applied {
        let mentions = first
            .stderr
            .lines()
            .filter(|line| line.contains(name))
            .count();
        assert_eq!(mentions, 1, "{name} is logged {mentions} times: {first:?}");
    }

    // A second start has nothing to apply, and PostgreSQL's notices stay out of the log.
    let second = govflow_process(&args, &env);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert!(!second.stderr.contains("applied migration"), "{second:?}");
    for output in [&first, &second] {
        assert!(
            !output.stderr.contains("already exists, skipping"),
            "{output:?}"
        );
    }
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(TestDatabase::create());
    let outcome = govflow_process(
        &["migrate"],
        &[
            ("GOVFLOW_DATABASE_URL", database.url.as_str()),
            ("GOVFLOW_LOG_FORMAT", "json"),
            ("GOVFLOW_NOT_A_SETTING", "1"),
        ],
    );
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert!(!lines.is_empty(), "{outcome:?}");
    for line in lines {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert!(entry["level"].is_string(), "{line}");
        assert!(entry["fields"]["message"].is_string(), "{line}");
    }
    assert!(
        outcome.stderr.contains("GOVFLOW_NOT_A_SETTING"),
        "{outcome:?}"
    );

    let refused = govflow_process(&["migrate"], &[("GOVFLOW_LOG_FORMAT", "xml")]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("setting `log_format` (GOVFLOW_LOG_FORMAT): `xml` is not one of text, json"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn every_option_says_what_it_is_for() {
    for (args, expected) in [
        (
            vec!["govflow", "serve", "--help"],
            vec!["Address and port to listen on", "Database URL"],
        ),
        (vec!["govflow", "migrate", "--help"], vec!["Database URL"]),
        (
            vec!["govflow", "token", "--help"],
            vec![
                "E-mail address of an existing user",
                "How long the token lives",
            ],
        ),
        (
            vec!["govflow", "admin", "create", "--help"],
            vec!["E-mail address", "Display name"],
        ),
        (
            vec!["govflow", "workflows", "apply", "--help"],
            vec!["A workflows folder"],
        ),
    ] {
        let outcome = execute(args.clone(), Vec::<(String, String)>::new()).await;
        assert_eq!(outcome.code, 0, "{args:?}: {outcome:?}");
        for text in expected {
            assert!(
                outcome.stdout.contains(text),
                "{args:?}: {}",
                outcome.stdout
            );
        }
        assert!(!outcome.stdout.contains('\u{1b}'), "{}", outcome.stdout);
    }
}

#[tokio::test]
async fn workflows_check_of_a_missing_folder_says_so() {
    let outcome = execute(
        ["govflow", "workflows", "check", "/nonexistent/workflows"],
        Vec::<(String, String)>::new(),
    )
    .await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert_eq!(
        outcome.stdout.trim(),
        "/nonexistent/workflows: the folder does not exist"
    );
    assert!(!outcome.stdout.contains(":0:"), "{outcome:?}");
}

#[tokio::test]
async fn a_toml_syntax_error_shows_the_line_and_a_caret() {
    let dir = govflow_tests::config_copy();
    let file = dir.path().join("workflows/working_group.toml");
    std::fs::write(
        &file,
        "name = \"working_group\"\nsubject = \"group\ninitial = 3\n",
    )
    .unwrap();
    let path = dir.path().display().to_string();
    let outcome = execute(
        ["govflow", "workflows", "check", path.as_str()],
        Vec::<(String, String)>::new(),
    )
    .await;
    assert_eq!(outcome.code, 1, "{outcome:?}");
    let shown = format!("{}:2: ", file.display());
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with(&shown))
        .unwrap_or_else(|| panic!("no error at line 2: {}", outcome.stdout));
    assert_eq!(lines[at + 1], "  |", "{}", outcome.stdout);
    assert_eq!(lines[at + 2], "2 | subject = \"group", "{}", outcome.stdout);
    assert!(
        lines[at + 3].starts_with("  | ") && lines[at + 3].ends_with('^'),
        "{}",
        outcome.stdout
    );
}

#[tokio::test]
async fn mail_drain_delivers_what_is_due_and_exits() {
    // The server's own mailer waits an hour between rounds, and its first round is over before
    // the notice below is queued, so the drain does the work.
    let app = TestApp::spawn_quiet().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let expert = app.create_user("expert@ee.example", "Expert").await;
    app.grant(&expert, "expert", "groupId", &group).await;
    app.ok(
        "mutation($id: ID!) { transition(subjectId: $id, name: \"conclude\", reason: \"Done\") { state } }",
        json!({ "id": group }),
        &app.admin,
    )
    .await;
    let mut settings = env(&app.database.url);
    settings.extend([
        ("GOVFLOW_MAIL__TRANSPORT".into(), "smtp".into()),
        ("GOVFLOW_MAIL__SMTP__HOST".into(), "127.0.0.1".into()),
        (
            "GOVFLOW_MAIL__SMTP__PORT".into(),
            app.smtp.port().to_string(),
        ),
    ]);
    let drained = execute(["govflow", "mail", "drain"], settings.clone()).await;
    assert_eq!(drained.code, 0, "{drained:?}");
    assert!(
        drained.stdout.contains("sent 1, to retry 0, dead 0"),
        "{drained:?}"
    );
    let received = app.smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["expert@ee.example"]);

    let again = execute(["govflow", "mail", "drain"], settings.clone()).await;
    assert!(again.stdout.contains("sent 0"), "{again:?}");

    // A `[mail]` value that cannot be used stops the command, naming the key.
    settings.push(("GOVFLOW_MAIL__FROM".into(), "not an address".into()));
    let refused = execute(["govflow", "mail", "drain"], settings).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("mail.from"), "{refused:?}");
}

#[tokio::test]
async fn deadlines_run_catches_up_on_what_fell_due_and_exits() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let coordinator = app
        .create_user("coordinator@ee.example", "Coordinator")
        .await;
    app.grant(&coordinator, "coordinator", "groupId", &group)
        .await;
    // Made on the server's clock (2 March 2026); the command runs on the real one, long after.
    app.ok(
        "mutation($input: CreateDeadlineInput!) { createDeadline(input: $input) { id } }",
        json!({ "input": { "subjectId": group, "title": "Work plan", "rule": "at 2026-04-01T09:00", "reminders": [{ "offset": "-1d", "roles": ["coordinator"] }] } }),
        &coordinator,
    )
    .await;
    let settings = env(&app.database.url);
    let ran = execute(["govflow", "deadlines", "run"], settings.clone()).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(
        ran.stdout
            .contains("reminders queued 1 (1 late, 1 e-mails), occurrences due 1, missed 1"),
        "{ran:?}"
    );
    let again = execute(["govflow", "deadlines", "run"], settings).await;
    assert!(
        again
            .stdout
            .contains("reminders queued 0 (0 late, 0 e-mails), occurrences due 0, missed 0"),
        "{again:?}"
    );
}
