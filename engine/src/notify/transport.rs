//! Where e-mail goes: an SMTP server (lettre's pooled async transport), a folder of `.eml` files
//! (the default, so that a new installation shows its mail without a server), or the log. The
//! mailer only asks a transport to send one message and learns whether a failure is worth
//! retrying.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How the mailer reaches its transport, from the `[mail]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// One `.eml` file per message in the folder.
    File {
        dir: PathBuf,
    },
    /// A log line per message; nothing is delivered.
    Log,
    Smtp(SmtpConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub tls: SmtpTls,
    /// How long one SMTP exchange may take; the mailer's claim on a message outlasts it.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain TCP: a relay on the same host or network.
    None,
    /// Plain TCP upgraded with STARTTLS, which is required.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpTls {
    pub fn parse(raw: &str) -> Option<SmtpTls> {
        match raw {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

/// Why a message was not delivered, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// A 5xx reply or a message that cannot be sent as it is: retrying will not help.
    pub permanent: bool,
    pub reason: String,
}

impl SendFailure {
    pub fn permanent(reason: impl Into<String>) -> SendFailure {
        SendFailure {
            permanent: true,
            reason: reason.into(),
        }
    }

    pub fn transient(reason: impl Into<String>) -> SendFailure {
        SendFailure {
            permanent: false,
            reason: reason.into(),
        }
    }
}

/// A transport built from its settings.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
    Log,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
            Transport::File(_, dir) => write!(f, "Transport::File({})", dir.display()),
            Transport::Log => f.write_str("Transport::Log"),
        }
    }
}

impl Transport {
    /// Builds the transport; a setting it cannot use is an error naming the key.
    pub fn build(config: &TransportConfig) -> Result<Transport, (String, String)> {
        match config {
            TransportConfig::Log => Ok(Transport::Log),
            TransportConfig::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|err| {
                    (
                        "mail.file_dir".to_owned(),
                        format!("cannot create {}: {err}", dir.display()),
                    )
                })?;
                Ok(Transport::File(AsyncFileTransport::new(dir), dir.clone()))
            }
            TransportConfig::Smtp(smtp) => {
                let tls = |params: Result<TlsParameters, _>| {
                    params.map_err(|err| {
                        (
                            "mail.smtp.host".to_owned(),
                            format!("TLS for `{}`: {err}", smtp.host),
                        )
                    })
                };
                let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    .port(smtp.port)
                    .timeout(Some(smtp.timeout));
                let builder = match smtp.tls {
                    SmtpTls::None => builder.tls(Tls::None),
                    SmtpTls::StartTls => {
                        builder.tls(Tls::Required(tls(TlsParameters::new(smtp.host.clone()))?))
                    }
                    SmtpTls::Tls => {
                        builder.tls(Tls::Wrapper(tls(TlsParameters::new(smtp.host.clone()))?))
                    }
                };
                let builder = if smtp.username.is_empty() {
                    builder
                } else {
                    builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.clone(),
                    ))
                };
                Ok(Transport::Smtp(builder.build()))
            }
        }
    }

    /// Sends one message.
    pub async fn send(&self, message: Message) -> Result<(), SendFailure> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|err| {
                // A 5xx reply will be the same next time; anything else (4xx, refused
                // connection, time-out, TLS) may pass later.
                let reason = err.to_string();
                if err.is_permanent() {
                    SendFailure::permanent(reason)
                } else {
                    SendFailure::transient(reason)
                }
            }),
            Transport::File(file, _) => file
                .send(message)
                .await
                .map(|_| ())
                .map_err(|err| SendFailure::transient(err.to_string())),
            Transport::Log => {
                let to: Vec<String> = message
                    .envelope()
                    .to()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                tracing::info!(to = %to.join(", "), "e-mail (log transport, not delivered)");
                Ok(())
            }
        }
    }
}
