//! Settings: file, environment and flags, and the exit code 2 of a bad setting.

use govflow_api::cli::execute;
use govflow_api::settings::{Overrides, Settings};
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let settings_file = file("listen = \"127.0.0.1:9000\"\n[limits]\nmax_depth = 7\n");
    let settings = Settings::load(
        Some(settings_file.path()),
        env(&[
            ("GOVFLOW_LISTEN", "127.0.0.1:9100"),
            ("GOVFLOW_LIMITS__MAX_ALIASES", "12"),
            ("GOVFLOW_DATABASE_URL", "sqlite://from-env.db"),
        ]),
        &Overrides {
            listen: None,
            database_url: Some("sqlite://from-flag.db".into()),
        },
    )
    .unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:9100");
    assert_eq!(settings.raw.limits.max_depth, 7);
    assert_eq!(settings.raw.limits.max_aliases, 12);
    assert_eq!(settings.raw.database_url, "sqlite://from-flag.db");
}

#[test]
fn a_bad_listen_address_names_the_key_and_its_origin() {
    let err = Settings::load(
        None,
        env(&[("GOVFLOW_LISTEN", "not-an-address")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key, "listen");
    assert_eq!(err.origin, "GOVFLOW_LISTEN");
    assert!(err.to_string().contains("not-an-address"), "{err}");
}

#[test]
fn unknown_keys_in_the_file_stop_start_up() {
    let settings_file = file("listen = \"127.0.0.1:9000\"\n[limits]\nmax_dept = 7\n");
    let err =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap_err();
    assert_eq!(err.key, "limits.max_dept");
    assert!(err.problem.contains("unknown key"));
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    let settings_file = file("introspection = \"yes please\"\n");
    let err =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap_err();
    assert_eq!(err.key, "introspection");
    assert!(err.problem.contains("true or false"), "{err}");

    let err = Settings::load(
        None,
        env(&[("GOVFLOW_LIMITS__MAX_DEPTH", "deep")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key, "limits.max_depth");
    assert!(err.problem.contains("whole number"), "{err}");
}

#[test]
fn unknown_variables_are_reported_and_test_variables_ignored() {
    let settings = Settings::load(
        None,
        env(&[
            ("GOVFLOW_NOT_A_SETTING", "1"),
            ("GOVFLOW_TEST_DATABASE_URL", "postgres://x"),
            ("PATH", "/bin"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        settings.unknown_env,
        vec!["GOVFLOW_NOT_A_SETTING".to_string()]
    );
}

#[test]
fn other_values_with_a_shape_are_checked() {
    for (key, variable, value) in [
        ("database_url", "GOVFLOW_DATABASE_URL", "mysql://db"),
        ("jwt_algorithm", "GOVFLOW_JWT_ALGORITHM", "none"),
        ("mail.transport", "GOVFLOW_MAIL__TRANSPORT", "pigeon"),
        (
            "limits.max_body_bytes",
            "GOVFLOW_LIMITS__MAX_BODY_BYTES",
            "0",
        ),
    ] {
        let err =
            Settings::load(None, env(&[(variable, value)]), &Overrides::default()).unwrap_err();
        assert_eq!(err.key, key, "{err}");
    }
}

#[tokio::test]
async fn a_bad_setting_exits_with_code_2_and_no_panic() {
    let outcome = execute(
        ["govflow", "serve"],
        env(&[
            ("GOVFLOW_LISTEN", "nowhere"),
            ("GOVFLOW_DATABASE_URL", "sqlite://unused.db"),
        ]),
    )
    .await;
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("setting `listen`"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("panicked"));

    let outcome = execute(
        ["govflow", "serve", "--listen", "127.0.0.1:99999"],
        env(&[]),
    )
    .await;
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("--listen"), "{}", outcome.stderr);
}

#[tokio::test]
async fn postgres_without_a_secret_refuses_to_start() {
    let outcome = execute(
        ["govflow", "token", "--email", "a@b.example"],
        env(&[(
            "GOVFLOW_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )]),
    )
    .await;
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("jwt_secret"), "{}", outcome.stderr);
}

#[test]
fn log_format_is_text_or_json() {
    let settings = Settings::builtin().unwrap();
    assert_eq!(settings.raw.log_format, "text");
    let settings = Settings::load(
        None,
        env(&[("GOVFLOW_LOG_FORMAT", "json")]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(settings.raw.log_format, "json");
    let settings_file = file("log_format = \"logfmt\"\n");
    let err =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap_err();
    assert_eq!(err.key, "log_format");
    assert_eq!(err.origin, settings_file.path().display().to_string());
    assert!(err.problem.contains("not one of text, json"), "{err}");
}

#[test]
fn cors_origins_are_a_list_of_origins() {
    assert!(Settings::builtin().unwrap().raw.cors_origins.is_empty());

    let settings_file = file(
        "cors_origins = [\"https://app.example.org\", \"http://localhost:3000\", \"https://[::1]:8443/\"]\n",
    );
    let settings =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap();
    assert_eq!(
        settings.raw.cors_origins,
        vec![
            "https://app.example.org",
            "http://localhost:3000",
            "https://[::1]:8443/"
        ]
    );

    // In the environment, a comma-separated list.
    let settings = Settings::load(
        None,
        env(&[(
            "GOVFLOW_CORS_ORIGINS",
            "https://a.example.org, https://b.example.org",
        )]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        settings.raw.cors_origins,
        vec!["https://a.example.org", "https://b.example.org"]
    );

    for bad in [
        "https://app.example.org/path",
        "app.example.org",
        "https://app.example.org?x=1",
        "https://user@app.example.org",
        "ftp://app.example.org",
        "https://app.example.org:99999",
        "*",
    ] {
        let err = Settings::load(
            None,
            env(&[("GOVFLOW_CORS_ORIGINS", bad)]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.key, "cors_origins", "{bad}: {err}");
        assert_eq!(err.origin, "GOVFLOW_CORS_ORIGINS");
        assert!(err.problem.contains(bad), "{err}");
    }

    let settings_file = file("cors_origins = \"https://app.example.org\"\n");
    let err =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap_err();
    assert_eq!(err.key, "cors_origins");
    assert!(err.problem.contains("expected a list"), "{err}");
}

#[test]
fn max_connections_defaults_to_1024_and_must_be_positive() {
    assert_eq!(
        Settings::builtin().unwrap().raw.limits.max_connections,
        1024
    );
    let settings_file = file("[limits]\nmax_connections = 64\n");
    let settings =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap();
    assert_eq!(settings.raw.limits.max_connections, 64);
    let err = Settings::load(
        None,
        env(&[("GOVFLOW_LIMITS__MAX_CONNECTIONS", "0")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key, "limits.max_connections");
    assert!(err.problem.contains("greater than 0"), "{err}");
}

#[test]
fn a_syntax_error_in_the_settings_file_keeps_its_diagram() {
    let settings_file = file("listen = \"127.0.0.1:9000\"\nintrospection = tru\n");
    let err =
        Settings::load(Some(settings_file.path()), env(&[]), &Overrides::default()).unwrap_err();
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines[0].ends_with("is not valid TOML:"), "{shown}");
    assert!(
        lines
            .iter()
            .any(|line| line.trim_start().starts_with("2 | introspection = tru")),
        "{shown}"
    );
    assert!(
        lines.iter().any(|line| line.trim_end().ends_with('^')),
        "{shown}"
    );
}

#[test]
fn a_value_nobody_set_comes_from_the_built_in_defaults() {
    let settings = Settings::load(None, env(&[]), &Overrides::default()).unwrap();
    assert_eq!(settings.origin("database_url"), "built-in default");
    let err = settings.error("database_url", "cannot open it");
    assert_eq!(
        err.to_string(),
        "setting `database_url` (built-in default): cannot open it"
    );
}
