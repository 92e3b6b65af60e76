//! Counters an operator watches, in the Prometheus text format (`/metrics`): e-mails sent,
//! retried and dead-lettered. Each engine keeps its own registry, so that several engines in one
//! process (the tests) count apart.

use prometheus::{Encoder, IntCounter, Registry, TextEncoder};

#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    pub mail_sent: IntCounter,
    pub mail_retried: IntCounter,
    pub mail_dead: IntCounter,
    pub reminders_sent: IntCounter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let counter = IntCounter::new(name, help)
                .unwrap_or_else(|err| unreachable!("a constant metric name is valid: {err}"));
            // Registering can only fail for a name already taken, and each name here is new.
            let _ = registry.register(Box::new(counter.clone()));
            counter
        };
        Metrics {
            mail_sent: counter("govflow_mail_sent_total", "E-mails the transport accepted."),
            mail_retried: counter(
                "govflow_mail_retried_total",
                "E-mail attempts that failed and will be retried.",
            ),
            mail_dead: counter(
                "govflow_mail_dead_total",
                "E-mails moved to the dead letters.",
            ),
            reminders_sent: counter(
                "govflow_reminders_queued_total",
                "Deadline reminder e-mails written to the outbox.",
            ),
            registry,
        }
    }

    /// Every metric, in the Prometheus text exposition format.
    pub fn text(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into memory fails only on a malformed family, which these are not.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
