//! Logging to stderr with tracing-subscriber; every line names spark-init, so its lines stand
//! out among the JVM's in a container log.
//!
//! Text: `2026-11-25T11:00:00.123456Z spark-init[1] INFO started java pid=7`.
//! JSON (`SPARK_INIT_LOG_FORMAT=json`): one object a line, with `"target": "spark_init::…"`.
//! Both write synchronously from the calling thread: PID 1 stays single-threaded. Every line
//! has the passwords of the URLs in it masked on its way out ([`MaskedStderr`]).

use std::fmt;
use std::io;

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
                    .json()
                    .with_writer(|| MaskedStderr)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_filter(filter),
            )
            .try_init(),
    };
    let _ = result;
}
