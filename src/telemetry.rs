//! Logging: `RUST_LOG` filters (default `info`); secrets never reach it (they are `Secret`s,
//! and outbound errors are logged without their URLs).
//!
//! actix-http logs a client's malformed request ("stream error: request parse error: invalid
//! Header provided") at ERROR, which would page whoever watches errors for what is the
//! client's fault. Those events are logged at WARN instead (see [`DemoteClientErrors`]).

use std::{fmt::Write as _, io::Write as _};

use tracing::{field::Field, Event, Level, Subscriber};
use tracing_subscriber::{
    filter::{filter_fn, EnvFilter},
    fmt::{writer::MakeWriter, TestWriter},
    layer::{Context, SubscriberExt},
    util::SubscriberInitExt,
    Layer,
};

/// Where actix-http reports the connection-level problems a client causes.
const CLIENT_ERRORS_TARGET: &str = "actix_http::h1::dispatcher";

fn is_client_error(meta: &tracing::Metadata<'_>) -> bool {
    meta.target() == CLIENT_ERRORS_TARGET && *meta.level() == Level::ERROR
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    install(filter, false);
}

/// For tests: quiet unless `RUST_LOG` asks, and captured per test.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    install(filter, true);
}

fn install(filter: EnvFilter, for_tests: bool) {
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let (fmt, demote) = match for_tests {
        true => (
            fmt.with_test_writer().boxed(),
            DemoteClientErrors::new(TestWriter::default).boxed(),
        ),
        false => (
            fmt.boxed(),
            DemoteClientErrors::new(std::io::stdout).boxed(),
        ),
    };
    // A second init (tests start many servers in one process) is harmless.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter_fn(|m| !is_client_error(m))))
        .with(demote)
        .with(filter)
        .try_init();
}

/// Writes actix-http's ERRORs about what a client sent as WARN lines. (A layer cannot log
/// through tracing while it handles an event, so it writes the line itself, in the fmt
/// layer's shape.)
pub struct DemoteClientErrors<W> {
    writer: W,
}

impl<W: for<'a> MakeWriter<'a> + 'static> DemoteClientErrors<W> {
    pub fn new(writer: W) -> Self {
        DemoteClientErrors { writer }
    }
}

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S: Subscriber, W: for<'a> MakeWriter<'a> + 'static> Layer<S> for DemoteClientErrors<W> {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if is_client_error(event.metadata()) {
            let mut message = Message(String::new());
            event.record(&mut message);
            let line = format!(
                "{}  WARN a client sent a request that could not be read error={:?}\n",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                message.0
            );
            let _ = self.writer.make_writer().write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records the level and message of every event it sees.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<(Level, String, String)>>>);

    struct Fields(String);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push((
                *event.metadata().level(),
                event.metadata().target().to_owned(),
                fields.0,
            ));
        }
    }

    /// Collects what is written.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_clients_bad_request_is_a_warning_not_an_error() {
        let seen = Seen::default();
        let lines = Lines::default();
        let out = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(seen.clone().with_filter(filter_fn(|m| !is_client_error(m))))
            .with(DemoteClientErrors::new(move || out.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(
                target: "actix_http::h1::dispatcher",
                "stream error: request parse error: invalid Header provided"
            );
            tracing::error!(target: "switchboard::db", "a real error");
        });
        let seen = seen.0.lock().unwrap();
        assert_eq!(seen.len(), 1, "not logged as an error: {seen:?}");
        assert_eq!(
            (seen[0].0, seen[0].1.as_str()),
            (Level::ERROR, "switchboard::db")
        );
        let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(
            written.contains(" WARN a client sent a request that could not be read")
                && written.contains("invalid Header provided"),
            "{written}"
        );
    }
}
