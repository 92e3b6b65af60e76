//! Hostile requests are refused cheaply: lists nested in lists, aliases multiplied through
//! fragments, cursors that overflow, diffs that would run for minutes, bodies that never arrive,
//! more connections than the server holds, and browsers on origins nobody configured.

use futures::future::join_all;
use govflow_tests::{TestApp, error_code, error_message};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Posts a query as the administrator and returns the HTTP status and the body.
async fn post(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    let response = app
        .post(
            json!({ "query": query, "variables": variables }).to_string(),
            Some(&app.admin.token),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// The resident memory of this process (the server runs in it), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn host_port(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

const NESTED: &str = "{ groups(first: 100) { nodes { memberships { nodes { user {
  memberships { nodes { group { memberships { nodes { user { memberships { nodes { id } } } } } } } } }
} } } } }";

#[tokio::test]
async fn lists_nested_in_lists_are_refused_before_they_run() {
    let app = TestApp::spawn_quiet().await;
    let (forum, _) = app.forum("Digital Nations").await;
    for group_index in 0..4 {
        let group = app.group(&forum, &format!("Group {group_index}")).await;
        for expert_index in 0..3 {
            let expert = app
                .create_user(
                    &format!("expert{group_index}.{expert_index}@example.org"),
                    "Expert",
                )
                .await;
            app.grant(&expert, "expert", "groupId", &group).await;
        }
    }
    // Groups established woke the scheduler (their report deadlines): let it settle first.
    app.wait_until_idle().await;
    let statements = app.engine.statements_executed();
    let memory = resident_kib();
    let (status, body) = post(&app, NESTED, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(error_message(&body).contains("complex"), "{body}");
    // Refused before it ran: the only statements are the caller's look-up.
    let ran = app.engine.statements_executed() - statements;
    assert!(ran <= 3, "{ran} statements for a refused query");
    let grown = resident_kib().saturating_sub(memory);
    assert!(grown < 20 * 1024, "resident memory grew by {grown} KiB");

    // The same shape, asked for in small pages, is answered.
    let (status, body) = post(
        &app,
        "{ groups(first: 10) { totalCount nodes { name memberships(first: 5) { totalCount nodes { role user { name } } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["groups"]["totalCount"], 4, "{body}");
    assert_eq!(
        body["data"]["groups"]["nodes"][0]["memberships"]["totalCount"],
        3
    );
}

#[tokio::test]
async fn aliases_count_once_per_fragment_spread() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_aliases = 30).await;
    let fields: String = (0..15)
        .map(|index| format!("a{index}: me {{ id }} "))
        .collect();
    let spreads = "...F ".repeat(15);
    let query = format!("query {{ {spreads} }} fragment F on Query {{ {fields} }}");
    let (status, body) = post(&app, &query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(error_message(&body).contains("225 aliases"), "{body}");

    // Two spreads of fifteen stay within thirty.
    let query = format!("query {{ ...F ...F }} fragment F on Query {{ {fields} }}");
    let (status, body) = post(&app, &query, json!({})).await;
    assert_eq!(status, 200, "{body}");

    // Fragments that spread each other twice over, twenty-five deep, are counted without
    // walking 2^25 spreads.
    let mut query = String::from("query { ...F0 } ");
    for level in 0..25 {
        query.push_str(&format!(
            "fragment F{level} on Query {{ ...F{next} ...F{next} }} ",
            next = level + 1
        ));
    }
    query.push_str("fragment F25 on Query { x: me { id } }");
    let started = Instant::now();
    let (status, body) = post(&app, &query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // The same without a single alias: refused for the fields it expands to.
    let query = query.replace("x: me { id }", "__typename");
    let (status, body) = post(&app, &query, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(error_message(&body).contains("fields"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cursors_that_do_not_name_a_position_are_invalid_input() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let lists = [
        "query($c: String) { forums(after: $c) { totalCount } }",
        "query($c: String) { groups(after: $c) { totalCount } }",
        "query($c: String, $g: ID) { documents(groupId: $g, after: $c) { totalCount } }",
        "query($c: String) { users(after: $c) { totalCount } }",
        "query($c: String) { outbox(after: $c) { totalCount } }",
        "query($c: String, $g: ID) { amendments(groupId: $g, after: $c) { totalCount } }",
        "query($c: String, $g: ID) { group(id: $g) { memberships(after: $c) { totalCount } } }",
        "query($c: String, $g: ID) { group(id: $g) { history(after: $c) { totalCount } } }",
    ];
    for list in lists {
        for cursor in ["9223372036854775807", "18446744073709551615", "-1", "%%%"] {
            let (status, body) = post(&app, list, json!({ "c": cursor, "g": group })).await;
            assert_eq!(status, 200, "{list} {cursor}: {body}");
            assert_eq!(
                error_code(&body),
                "INVALID_INPUT",
                "{list} {cursor}: {body}"
            );
            assert!(error_message(&body).contains("`after`"), "{body}");
        }
        // A cursor past the end is a valid, empty page.
        let (_, body) = post(&app, list, json!({ "c": "1000000", "g": group })).await;
        assert!(body.get("errors").is_none(), "{list}: {body}");
    }
}

/// A text of `lines` lines, each naming `word`.
fn long_text(word: &str, lines: usize) -> String {
    (0..lines)
        .map(|line| format!("{word} line {line} of the terms\n"))
        .collect()
}

#[tokio::test]
async fn huge_diffs_end_within_the_time_limit_and_health_still_answers() {
    let app = TestApp::spawn_with(|raw| raw.limits.request_timeout_seconds = 4).await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let document = app
        .document(
            &group,
            "work_plan",
            "Work plan",
            &long_text("original", 20_000),
        )
        .await;
    let data = app
        .ok(
            "mutation($input: CreateAmendmentInput!) { createAmendment(input: $input) { id } }",
            json!({ "input": { "groupId": group, "documentId": document, "text": long_text("amended", 20_000) } }),
            &app.admin,
        )
        .await;
    let amendment = data["createAmendment"]["id"].as_str().unwrap().to_owned();

    let diff = "query($id: ID!) { amendment(id: $id) { diff { insertedLines deletedLines } } }";
    let started = Instant::now();
    let diffs = join_all((0..3).map(|_| post(&app, diff, json!({ "id": amendment }))));
    let health = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let asked = Instant::now();
        let response = reqwest::get(format!("{}/health", app.address)).await;
        (response.map(|r| r.status().as_u16()), asked.elapsed())
    };
    let (answers, (health_status, health_time)) = tokio::join!(diffs, health);
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        // Either the (coarser) diff or the time limit: never a hang.
        if body.get("errors").is_some() {
            assert_eq!(error_code(body), "TIMEOUT", "{body}");
        } else {
            assert_eq!(body["data"]["amendment"]["diff"]["insertedLines"], 20_000);
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "three diffs took {:?} with a 4 s limit",
        started.elapsed()
    );
    assert_eq!(health_status.ok(), Some(200));
    assert!(
        health_time < Duration::from_secs(1),
        "/health took {health_time:?} while diffs ran"
    );
}

#[tokio::test]
async fn one_request_computes_at_most_three_diffs() {
    let app = TestApp::spawn().await;
    let (forum, _) = app.forum("Digital Nations").await;
    let group = app.group(&forum, "Digital Governance").await;
    let document = app
        .document(&group, "work_plan", "Work plan", "a\nb\n")
        .await;
    let aliases: String = (0..4)
        .map(|index| format!("d{index}: diff(from: 1, to: 1) {{ unified }} "))
        .collect();
    let query = format!("query($d: ID!) {{ document(id: $d) {{ {aliases} }} }}");
    let (_, body) = post(&app, &query, json!({ "d": document })).await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(codes, vec!["QUERY_TOO_COMPLEX"], "{body}");
}

/// Sends `head` and whatever of the body it holds, then stays silent; returns the answer's status
/// line and how long it took.
async fn silent_after(app: &TestApp, head: &str) -> (String, Duration) {
    let mut stream = TcpStream::connect(host_port(app)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    (
        text.lines().next().unwrap_or_default().to_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_body_that_never_arrives_is_cut_at_the_time_limit() {
    let app = TestApp::spawn_with(|raw| raw.limits.request_timeout_seconds = 2).await;
    let (status, took) = silent_after(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: govflow\r\nContent-Type: application/json\r\n\
         Content-Length: 500\r\n\r\n{\"query\": \"{ me { id } }\"",
    )
    .await;
    assert!(status.contains(" 408"), "{status}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // A body announced as larger than the limit is refused before any of it is read.
    let (status, took) = silent_after(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: govflow\r\nContent-Type: application/json\r\n\
         Content-Length: 10485760\r\n\r\n{\"query\":",
    )
    .await;
    assert!(status.contains(" 413"), "{status}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_place() {
    let app = TestApp::spawn_with(|raw| raw.limits.max_connections = 3).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(host_port(&app)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = format!("{}/health", app.address);
    let fresh = || {
        reqwest::Client::builder()
            .timeout(Duration::from_millis(800))
            .build()
            .unwrap()
    };
    assert!(
        fresh().get(&health).send().await.is_err(),
        "a fourth connection was served while three were open"
    );
    drop(idle.pop());
    let mut answered = false;
    for _ in 0..10 {
        if let Ok(response) = fresh().get(&health).send().await {
            assert_eq!(response.status().as_u16(), 200);
            answered = true;
            break;
        }
    }
    assert!(answered, "no connection was served after one closed");
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app = TestApp::spawn_with(|raw| {
        raw.cors_origins = vec!["https://portal.example".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://portal.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let other = preflight("https://evil.example").await.unwrap();
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        other.headers()
    );

    // With no origins configured, no browser on another origin is let in.
    let closed = TestApp::spawn().await;
    let response = closed
        .client
        .post(format!("{}/graphql", closed.address))
        .header("origin", "https://portal.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads something from elsewhere: {html}"
    );
    for (asset, content_type) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("start.js", "text/javascript"),
    ] {
        let response = app
            .client
            .get(format!("{}/graphiql/{asset}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{asset}");
        let served = response.headers()["content-type"].to_str().unwrap();
        assert!(served.starts_with(content_type), "{asset}: {served}");
        assert!(response.bytes().await.unwrap().len() > 100, "{asset}");
    }
    let missing = app
        .client
        .get(format!("{}/graphiql/..%2Fsecret", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
