//! Authentication: `Authorization: Bearer <JWT>` becomes an [`Actor`].
//!
//! The algorithm comes from the settings, never from the token's header, so a token signed with
//! `none`, or with HS256 using an RS256 public key as the secret, is refused. `exp` and `sub` are
//! required, `nbf` is honoured and an `iat` in the future is refused; `iss` and `aud` are checked
//! when configured (and `aud` is otherwise not checked at all).
//!
//! A token is identified by (`iss`, `sub`). Tokens that govflow mints (`iss` = `govflow`), and any
//! token when no outside issuer is configured, name the user by their UUID in `sub`. A token of the
//! configured outside issuer names an identity of that provider: it is found through the stored
//! link, and linked by e-mail only on first sight and only when the provider says the address is
//! verified. See docs/SECURITY.md.
use crate::settings::{Settings, SettingsError};
use govflow_engine::db::DatabaseKind;
use govflow_engine::{Actor, Engine, EngineError, users};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The issuer of the tokens `govflow token` mints.
pub const GOVFLOW_ISSUER: &str = "govflow";

/// How far clocks may disagree (seconds) for `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Required; optional here only so that a token without it is refused by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// Only written: jsonwebtoken checks `aud` itself, as a string or a list.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// Providers send `true` or `"true"`; anything else counts as not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email_verified: Option<serde_json::Value>,
}

impl Claims {
    fn email_verified(&self) -> bool {
        match &self.email_verified {
            Some(serde_json::Value::Bool(verified)) => *verified,
            Some(serde_json::Value::String(text)) => text == "true",
            _ => false,
        }
    }
}

#[derive(Clone)]
pub struct Authenticator {
    algorithm: Algorithm,
    decoding: DecodingKey,
    /// Only for HS256, where the secret both signs and verifies.
    encoding: Option<EncodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The file beside a SQLite database that holds its generated secret.
fn secret_file(database_url: &str) -> Option<PathBuf> {
    let path = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(format!("{path}.jwt-secret")))
    }
}

/// The HS256 secret: configured, or (on SQLite only) generated once and kept beside the database.
pub fn resolve_secret(settings: &Settings) -> Result<String, SettingsError> {
    if let Some(secret) = non_empty(&settings.raw.jwt_secret) {
        if secret.len() < 16 {
            return Err(settings.error("jwt_secret", "must be at least 16 characters long"));
        }
        return Ok(secret);
    }
    if settings.database == DatabaseKind::Postgres {
        return Err(settings.error(
            "jwt_secret",
            "must be set when the database is PostgreSQL: every instance must share one secret",
        ));
    }
    let generate = || {
        let bytes: [u8; 32] = rand::random();
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
    let Some(path) = secret_file(&settings.raw.database_url) else {
        return Ok(generate());
    };
    if let Ok(existing) = std::fs::read_to_string(&path)
        && let Some(secret) = non_empty(&existing)
    {
        return Ok(secret);
    }
    // The secret is written before the database is opened: a database folder that does not exist
    // is the database's problem, and is reported as such rather than as the secret's.
    govflow_engine::db::missing_sqlite_folder(&path.with_extension(""))
        .map_err(|err| settings.error("database_url", err.to_string()))?;
    let secret = generate();
    write_private(&path, &secret).map_err(|err| {
        settings.error(
            "jwt_secret",
            format!(
                "is empty, and a generated one cannot be stored in {}: {err}",
                path.display()
            ),
        )
    })?;
    tracing::info!(
        "generated a JWT secret and stored it in {} (set jwt_secret to use your own)",
        path.display()
    );
    Ok(secret)
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}

impl Authenticator {
    pub fn from_settings(settings: &Settings) -> Result<Authenticator, SettingsError> {
        let raw = &settings.raw;
        let (algorithm, decoding, encoding) = match raw.jwt_algorithm.as_str() {
            "HS256" => {
                let secret = resolve_secret(settings)?;
                (
                    Algorithm::HS256,
                    DecodingKey::from_secret(secret.as_bytes()),
                    Some(EncodingKey::from_secret(secret.as_bytes())),
                )
            }
            other => {
                let path = raw.jwt_public_key_file.trim();
                let pem = std::fs::read(path).map_err(|err| {
                    settings.error(
                        "jwt_public_key_file",
                        format!("cannot read `{path}`: {err}"),
                    )
                })?;
                let (algorithm, key) = if other == "RS256" {
                    (Algorithm::RS256, DecodingKey::from_rsa_pem(&pem))
                } else {
                    (Algorithm::EdDSA, DecodingKey::from_ed_pem(&pem))
                };
                let key = key.map_err(|err| {
                    settings.error(
                        "jwt_public_key_file",
                        format!("`{path}` is not a PEM {other} public key: {err}"),
                    )
                })?;
                (algorithm, key, None)
            }
        };
        Ok(Authenticator {
            algorithm,
            decoding,
            encoding,
            issuer: non_empty(&raw.jwt_issuer),
            audience: non_empty(&raw.jwt_audience),
        })
    }

    /// Mints a token for a user with the HS256 secret (`govflow token`).
    pub fn mint(&self, user_id: Uuid, ttl: std::time::Duration) -> Result<String, String> {
        let Some(key) = &self.encoding else {
            return Err("minting tokens needs jwt_algorithm = \"HS256\"".into());
        };
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: Some(user_id.to_string()),
            exp: Some(now + ttl.as_secs()),
            nbf: None,
            iat: Some(now),
            iss: Some(GOVFLOW_ISSUER.to_owned()),
            aud: self.audience.clone(),
            email: None,
            email_verified: None,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &claims, key).map_err(|err| err.to_string())
    }

    fn validation(&self) -> Validation {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = LEEWAY_SECONDS;
        let mut required = vec!["exp", "sub"];
        if self.audience.is_some() {
            required.push("aud");
        }
        if self.issuer.is_some() {
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        match &self.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &self.issuer {
            // With a secret of our own we mint tokens too; with a public key only the provider signs.
            if self.encoding.is_some() {
                validation.set_issuer(&[issuer.as_str(), GOVFLOW_ISSUER]);
            } else {
                validation.set_issuer(&[issuer]);
            }
        }
        validation
    }

    /// Resolves the `Authorization` header: `Ok(None)` when there is none.
    pub async fn authenticate(
        &self,
        engine: &Engine,
        header: Option<&str>,
    ) -> Result<Option<Actor>, AuthError> {
        let Some(header) = header else {
            return Ok(None);
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                AuthError::Unauthenticated(
                    "the Authorization header must be `Bearer <token>`".into(),
                )
            })?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation())
            .map_err(|err| AuthError::Unauthenticated(describe(&err)))?;
        if data
            .claims
            .iat
            .is_some_and(|iat| iat > jsonwebtoken::get_current_timestamp() + LEEWAY_SECONDS)
        {
            return Err(AuthError::Unauthenticated(
                "the token's `iat` lies in the future".into(),
            ));
        }
        let user_id = self.user_of(engine, &data.claims).await?;
        Actor::load(engine, user_id)
            .await?
            .map(Some)
            .ok_or_else(|| AuthError::Unauthenticated("the token names an unknown user".into()))
    }

    async fn user_of(&self, engine: &Engine, claims: &Claims) -> Result<Uuid, AuthError> {
        let unknown = || AuthError::Unauthenticated("the token names an unknown user".into());
        let subject = claims
            .sub
            .as_deref()
            .filter(|subject| !subject.trim().is_empty())
            .ok_or_else(|| {
                AuthError::Unauthenticated("the token lacks the required claim `sub`".into())
            })?;
        let outside = self
            .issuer
            .as_deref()
            .filter(|issuer| claims.iss.as_deref() == Some(*issuer));
        let Some(issuer) = outside else {
            // Our own tokens, or any token when no outside issuer is configured: `sub` is a UUID.
            return Uuid::parse_str(subject).map_err(|_| unknown());
        };
        // An identity of the outside provider: its `sub` is the provider's, never a govflow id.
        if let Some(user) = users::by_identity(engine, issuer, subject).await? {
            return Ok(user.id);
        }
        let not_linked = || {
            AuthError::Unauthenticated(
                "the token's identity is not linked to a govflow user, and it carries no verified \
                 e-mail address of one"
                    .into(),
            )
        };
        if !claims.email_verified() {
            return Err(not_linked());
        }
        let Some(email) = &claims.email else {
            return Err(not_linked());
        };
        let Ok(Some(user)) = users::find_by_email(engine, email).await else {
            return Err(not_linked());
        };
        match users::link_identity_once(engine, user.id, issuer, subject).await? {
            Some(linked) => Ok(linked),
            None => Err(AuthError::Unauthenticated(
                "the user with this e-mail address is already linked to another identity of \
                 this issuer"
                    .into(),
            )),
        }
    }
}

fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    let why = match err.kind() {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::InvalidSignature => "the token's signature is not valid",
        ErrorKind::InvalidAlgorithm => {
            "the token is signed with an algorithm this server does not accept"
        }
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
        ErrorKind::InvalidAudience => "the token's audience is not accepted",
        ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf` lies in the future)",
        ErrorKind::MissingRequiredClaim(claim) => {
            return format!("the token lacks the required claim `{claim}`");
        }
        _ => "the token is malformed",
    };
    why.to_owned()
}
