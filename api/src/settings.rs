//! Settings: the file (`--config FILE`, else `./config/govflow.toml`, else the built-in defaults),
//! overridden by `GOVFLOW_*` environment variables, overridden by command-line flags.
//!
//! The built-in file is also the schema: a key it does not have is unknown, and a value must have
//! the type its default has. A bad setting is reported with the key, where it came from and what
//! is wrong, and stops start-up with exit code 2.

use govflow_engine::ConfigSource;
use govflow_engine::db::DatabaseKind;
use govflow_engine::notify::mailer::{MailConfig, Mailer};
use govflow_engine::notify::transport::{SmtpConfig, SmtpTls, TransportConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

pub const BUILTIN_SETTINGS: &str = include_str!("../../config/govflow.toml");
const ENV_PREFIX: &str = "GOVFLOW_";
/// Variables of the test harness, never read as settings.
const TEST_PREFIX: &str = "GOVFLOW_TEST_";
/// The origin of a value that no file, variable or flag set.
const DEFAULT_ORIGIN: &str = "built-in default";

#[derive(Debug, Clone, thiserror::Error)]
#[error("setting `{key}` ({origin}): {problem}")]
pub struct SettingsError {
    pub key: String,
    pub origin: String,
    pub problem: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub listen: String,
    pub database_url: String,
    pub jwt_secret: String,
    pub jwt_algorithm: String,
    pub jwt_public_key_file: String,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub config_dir: String,
    pub introspection: bool,
    /// `text` (human-readable lines) or `json` (one JSON object per line, for log shippers).
    pub log_format: String,
    /// Browser origins (`scheme://host[:port]`) allowed to call the API across origins; empty
    /// means no CORS at all.
    pub cors_origins: Vec<String>,
    pub limits: Limits,
    pub deadlines: DeadlineSettings,
    pub mail: MailSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSettings {
    /// The longest the scheduler sleeps between looks for due work.
    pub poll_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_body_bytes: usize,
    pub request_timeout_seconds: u64,
    /// The most HTTP connections served at once.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub from: String,
    pub transport: String,
    pub file_dir: String,
    pub max_retry_hours: u64,
    pub poll_seconds: u64,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub tls: String,
    pub timeout_seconds: u64,
}

/// Settings that have been read and checked: what the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub raw: RawSettings,
    pub listen: SocketAddr,
    pub database: DatabaseKind,
    pub config: ConfigSource,
    /// Where each key's value came from, for error messages after loading.
    origins: BTreeMap<String, String>,
    /// `GOVFLOW_*` variables that name no setting.
    pub unknown_env: Vec<String>,
}

/// Command-line overrides, the last word.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a section",
    }
}

/// Checks a file's table against the built-in one: no unknown keys, every value of the right type.
fn check_shape(
    given: &Table,
    schema: &Table,
    prefix: &str,
    origin: &str,
) -> Result<(), SettingsError> {
    for (key, value) in given {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(expected) = schema.get(key) else {
            return Err(SettingsError {
                key: path,
                origin: origin.to_owned(),
                problem: "unknown key".into(),
            });
        };
        match (expected, value) {
            (Value::Table(schema), Value::Table(given)) => {
                check_shape(given, schema, &path, origin)?
            }
            (expected, given)
                if std::mem::discriminant(expected) != std::mem::discriminant(given) =>
            {
                return Err(SettingsError {
                    key: path,
                    origin: origin.to_owned(),
                    problem: format!(
                        "expected {}, found {}",
                        type_name(expected),
                        type_name(given)
                    ),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn lookup<'a>(table: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(first)?;
    if rest.is_empty() {
        Some(value)
    } else {
        match value {
            Value::Table(inner) => lookup(inner, rest),
            _ => None,
        }
    }
}

fn set_path(table: &mut Table, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        table.insert(first.clone(), value);
    } else if let Some(Value::Table(inner)) = table.get_mut(first) {
        set_path(inner, rest, value);
    }
}

/// Parses an environment value as the type of the setting's default.
fn env_value(expected: &Value, raw: &str) -> Result<Value, String> {
    match expected {
        Value::String(_) => Ok(Value::String(raw.to_owned())),
        Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("`{raw}` is not a whole number")),
        Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Boolean(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        },
        Value::Float(_) => raw
            .trim()
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("`{raw}` is not a number")),
        // A list of strings (`cors_origins`): comma-separated, since a variable holds one string.
        Value::Array(_) => Ok(Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        )),
        other => Err(format!(
            "cannot be set from the environment ({})",
            type_name(other)
        )),
    }
}

fn builtin_table() -> Result<Table, SettingsError> {
    BUILTIN_SETTINGS
        .parse::<Table>()
        .map_err(|err| SettingsError {
            key: "<built-in>".into(),
            origin: "built-in settings".into(),
            problem: err.to_string(),
        })
}

impl Settings {
    /// Reads the settings: `file` if given, else `./config/govflow.toml` if present, else the
    /// built-in defaults; then `env`; then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Settings, SettingsError> {
        let schema = builtin_table()?;
        let default_file = Path::new("config/govflow.toml");
        let chosen: Option<PathBuf> = match file {
            Some(path) => Some(path.to_path_buf()),
            None if default_file.is_file() => Some(default_file.to_path_buf()),
            None => None,
        };
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        let mut table = schema.clone();
        if let Some(path) = &chosen {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|err| SettingsError {
                key: "--config".into(),
                origin: origin.clone(),
                problem: format!("cannot read the file: {err}"),
            })?;
            let given = text.parse::<Table>().map_err(|err| SettingsError {
                key: "<file>".into(),
                origin: origin.clone(),
                // The parser's message is a diagram (line, source, caret under the fault): it
                // keeps its line breaks, indented under the first line of the error.
                problem: format!("is not valid TOML:\n{}", indent(err.to_string().trim_end())),
            })?;
            check_shape(&given, &schema, "", &origin)?;
            merge(&mut table, given, "", &origin, &mut origins);
        }
        let mut unknown_env = Vec::new();
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !name.starts_with(TEST_PREFIX))
            .collect();
        env.sort();
        for (name, raw) in env {
            let path: Vec<String> = name[ENV_PREFIX.len()..]
                .to_lowercase()
                .split("__")
                .map(str::to_owned)
                .collect();
            match lookup(&schema, &path) {
                Some(expected) if !matches!(expected, Value::Table(_)) => {
                    let key = path.join(".");
                    let value = env_value(expected, &raw).map_err(|problem| SettingsError {
                        key: key.clone(),
                        origin: name.clone(),
                        problem,
                    })?;
                    set_path(&mut table, &path, value);
                    origins.insert(key, name.clone());
                }
                _ => unknown_env.push(name),
            }
        }
        if let Some(listen) = &overrides.listen {
            table.insert("listen".into(), Value::String(listen.clone()));
            origins.insert("listen".into(), "--listen".into());
        }
        if let Some(url) = &overrides.database_url {
            table.insert("database_url".into(), Value::String(url.clone()));
            origins.insert("database_url".into(), "--database".into());
        }
        let raw: RawSettings = Value::Table(table)
            .try_into()
            .map_err(|err: toml::de::Error| SettingsError {
                key: "<settings>".into(),
                origin: chosen
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_else(|| "built-in settings".into()),
                problem: err.message().to_owned(),
            })?;
        let config_home = chosen
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        Settings::check(raw, origins, unknown_env, config_home)
    }

    /// The built-in defaults, for tests and tools that build settings in code.
    pub fn builtin() -> Result<Settings, SettingsError> {
        let raw: RawSettings =
            Value::Table(builtin_table()?)
                .try_into()
                .map_err(|err: toml::de::Error| SettingsError {
                    key: "<built-in>".into(),
                    origin: "built-in settings".into(),
                    problem: err.message().to_owned(),
                })?;
        Settings::check(raw, BTreeMap::new(), Vec::new(), None)
    }

    pub fn origin(&self, key: &str) -> String {
        self.origins
            .get(key)
            .cloned()
            .unwrap_or_else(|| DEFAULT_ORIGIN.into())
    }

    /// The mailer's settings; a value it cannot use (an address that does not parse, a folder
    /// that cannot be made) is an error naming its key.
    pub fn mailer(&self) -> Result<Mailer, SettingsError> {
        let mail = &self.raw.mail;
        let transport = match mail.transport.as_str() {
            "smtp" => TransportConfig::Smtp(SmtpConfig {
                host: mail.smtp.host.clone(),
                port: mail.smtp.port,
                username: mail.smtp.username.clone(),
                password: mail.smtp.password.clone(),
                tls: SmtpTls::parse(&mail.smtp.tls).unwrap_or(SmtpTls::None),
                timeout: std::time::Duration::from_secs(mail.smtp.timeout_seconds),
            }),
            "log" => TransportConfig::Log,
            _ => TransportConfig::File {
                dir: PathBuf::from(mail.file_dir.trim()),
            },
        };
        let config = MailConfig {
            from: mail.from.clone(),
            transport,
            max_retry_hours: u32::try_from(mail.max_retry_hours).unwrap_or(u32::MAX),
            poll: std::time::Duration::from_secs(mail.poll_seconds),
        };
        Mailer::new(&config).map_err(|(key, problem)| self.error(&key, problem))
    }

    pub fn error(&self, key: &str, problem: impl Into<String>) -> SettingsError {
        SettingsError {
            key: key.to_owned(),
            origin: self.origin(key),
            problem: problem.into(),
        }
    }

    /// Parses the values that have a shape of their own; called again after code changes `raw`.
    pub fn check(
        raw: RawSettings,
        origins: BTreeMap<String, String>,
        unknown_env: Vec<String>,
        config_home: Option<PathBuf>,
    ) -> Result<Settings, SettingsError> {
        let err = |key: &str, problem: String| SettingsError {
            key: key.to_owned(),
            origin: origins
                .get(key)
                .cloned()
                .unwrap_or_else(|| DEFAULT_ORIGIN.into()),
            problem,
        };
        let listen: SocketAddr = raw.listen.trim().parse().map_err(|_| {
            err(
                "listen",
                format!("`{}` is not an address like 127.0.0.1:8080", raw.listen),
            )
        })?;
        let database = DatabaseKind::of_url(raw.database_url.trim())
            .map_err(|problem| err("database_url", problem))?;
        if !matches!(raw.jwt_algorithm.as_str(), "HS256" | "RS256" | "EdDSA") {
            return Err(err(
                "jwt_algorithm",
                format!("`{}` is not one of HS256, RS256, EdDSA", raw.jwt_algorithm),
            ));
        }
        if raw.jwt_algorithm != "HS256" && raw.jwt_public_key_file.trim().is_empty() {
            return Err(err(
                "jwt_public_key_file",
                format!(
                    "must name a PEM public key when jwt_algorithm is {}",
                    raw.jwt_algorithm
                ),
            ));
        }
        if !matches!(raw.log_format.as_str(), "text" | "json") {
            return Err(err(
                "log_format",
                format!("`{}` is not one of text, json", raw.log_format),
            ));
        }
        for origin in &raw.cors_origins {
            check_origin(origin).map_err(|problem| err("cors_origins", problem))?;
        }
        if !matches!(raw.mail.transport.as_str(), "file" | "smtp" | "log") {
            return Err(err(
                "mail.transport",
                format!("`{}` is not one of file, smtp, log", raw.mail.transport),
            ));
        }
        if !matches!(raw.mail.smtp.tls.as_str(), "none" | "starttls" | "tls") {
            return Err(err(
                "mail.smtp.tls",
                format!("`{}` is not one of none, starttls, tls", raw.mail.smtp.tls),
            ));
        }
        let positive = [
            ("limits.max_depth", raw.limits.max_depth as u64),
            ("limits.max_complexity", raw.limits.max_complexity as u64),
            ("limits.max_aliases", raw.limits.max_aliases as u64),
            ("limits.max_body_bytes", raw.limits.max_body_bytes as u64),
            (
                "limits.request_timeout_seconds",
                raw.limits.request_timeout_seconds,
            ),
            ("limits.max_connections", raw.limits.max_connections as u64),
            ("mail.max_retry_hours", raw.mail.max_retry_hours),
            ("mail.poll_seconds", raw.mail.poll_seconds),
            ("deadlines.poll_seconds", raw.deadlines.poll_seconds),
            ("mail.smtp.timeout_seconds", raw.mail.smtp.timeout_seconds),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(err(key, "must be greater than 0".into()));
            }
        }
        let config = if !raw.config_dir.trim().is_empty() {
            let dir = PathBuf::from(raw.config_dir.trim());
            if !dir.join("workflows").is_dir() {
                return Err(err(
                    "config_dir",
                    format!("`{}` has no workflows/ folder", dir.display()),
                ));
            }
            ConfigSource::Dir(dir)
        } else {
            match config_home {
                Some(home) if home.join("workflows").is_dir() => ConfigSource::Dir(home),
                _ => ConfigSource::BuiltIn,
            }
        };
        Ok(Settings {
            raw,
            listen,
            database,
            config,
            origins,
            unknown_env,
        })
    }
}

fn merge(
    into: &mut Table,
    from: Table,
    prefix: &str,
    origin: &str,
    origins: &mut BTreeMap<String, String>,
) {
    for (key, value) in from {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (into.get_mut(&key), value) {
            (Some(Value::Table(inner)), Value::Table(given)) => {
                merge(inner, given, &path, origin, origins)
            }
            (_, value) => {
                into.insert(key, value);
                origins.insert(path, origin.to_owned());
            }
        }
    }
}

/// Indents every line of a multi-line message by two spaces, so that it reads as part of the
/// error line above it.
fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that `origin` is a browser origin, `scheme://host[:port]`: what a browser sends in its
/// `Origin` header, with no path, query, or user name.
fn check_origin(origin: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!(
            "`{origin}` is not an origin like https://app.example.org or http://localhost:3000: \
             {why}"
        ))
    };
    let url = match url::Url::parse(origin) {
        Ok(url) => url,
        Err(err) => return refuse(&err.to_string()),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse("the scheme must be http or https");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return refuse("it has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("it must not carry a user name or password");
    }
    // The parser writes "/" for an empty path, so a bare trailing "/" is accepted too.
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return refuse("it must not have a path, query or fragment");
    }
    Ok(())
}
