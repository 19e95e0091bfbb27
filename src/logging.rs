//! Logging to stderr with tracing-subscriber; every line names spark-init, so its lines stand
//! out among the JVM's in a container log.
//!
//! Text: `2026-11-25T11:00:00.123456Z spark-init[1] INFO started java pid=7`.
//! JSON (`SPARK_INIT_LOG_FORMAT=json`): one object a line, with `"target": "spark_init::…"`,
//! `"process": "spark-init"` and its pid, numbers as numbers and the command as an array.
//! Both write synchronously from the calling thread: PID 1 stays single-threaded. Every line
//! has the passwords of the URLs in it masked on its way out ([`MaskedStderr`]).

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogConfig, LogFormat};
use crate::redact;

/// stderr, with every URL's password masked (`http://user:***@host`): a message may quote a
/// URL that came from a variable, and the masking belongs to every line rather than to each
/// place that logs one. The formatter hands over one whole event per write.
struct MaskedStderr;

impl io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(redact::url_passwords(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

struct TextFormat {
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut writer)?;
        write!(
            writer,
            " spark-init[{}] {} ",
            self.pid,
            event.metadata().level()
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(config: &LogConfig) {
    let filter = config.filter.clone();
    let result = match config.format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(|| MaskedStderr)
                    .event_format(TextFormat {
                        pid: std::process::id(),
                    })
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(|| MaskedStderr)
                    .event_format(JsonFormat {
                        pid: std::process::id(),
                    })
                    .with_filter(filter),
            )
            .try_init(),
    };
    if result.is_ok() {
        JSON.store(config.format == LogFormat::Json, Ordering::Relaxed);
    }
}

/// Whether the log is JSON: a line then carries structure in fields (the command as an array,
/// a resolved value as JSON) rather than in its message.
static JSON: AtomicBool = AtomicBool::new(false);

pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Fields whose value is JSON text, embedded as JSON in a JSON line: `argv` (the command),
/// `value` (a resolved value).
const JSON_FIELDS: [&str; 2] = ["argv", "value"];

/// One object a line, as tracing-subscriber's JSON layer writes it (`timestamp`, `level`,
/// `fields`, `target`), plus what says the line is spark-init's: `"process": "spark-init"` and
/// its `pid` — the same on the lines of the lookup processes it forks, as in the text format.
struct JsonFormat {
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = serde_json::Map::new();
        event.record(&mut JsonFields(&mut fields));
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let meta = event.metadata();
        let line = serde_json::json!({
            "timestamp": timestamp,
            "level": meta.level().as_str(),
            "fields": fields,
            "target": meta.target(),
            "process": "spark-init",
            "pid": self.pid,
        });
        writeln!(writer, "{line}")
    }
}

/// An event's fields as JSON values: numbers and booleans as such, [`JSON_FIELDS`] parsed.
struct JsonFields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let parsed = JSON_FIELDS
            .contains(&field.name())
            .then(|| serde_json::from_str(value).ok())
            .flatten();
        let value = parsed.unwrap_or_else(|| value.into());
        self.0.insert(field.name().into(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}
