//! Diagnostics on stderr that never stop `watch`: the start line, warnings, skipped lines, the
//! health line, the totals, and the delivery layer's `tracing` events.
//!
//! `eprintln!` panics when stderr cannot be written (a closed pipe after `watch 2>&1 | head`, a
//! journal that went away, a descriptor closed by a supervisor), and a live driver must not die
//! of its own commentary: the alerts, the spool and the checkpoint matter, the words about them
//! do not. Every diagnostic goes through [`Stderr`], which drops what it cannot write.

use std::fmt::Arguments;
use std::io::Write;

/// Standard error, ignoring write errors: a line that cannot be written is dropped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Claiming the whole buffer written keeps callers such as `write_all` from looping.
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Stderr {
        Stderr
    }
}

/// Writes one line to stderr, or nothing if stderr cannot take it.
pub fn line(args: Arguments<'_>) {
    // One write for the whole line, so lines from several threads do not interleave.
    let text = format!("{args}\n");
    let _ = Stderr.write(text.as_bytes());
}

/// `eprintln!` for `watch`: the same arguments, without the panic (see the module docs).
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::watch::diag::line(format_args!($($arg)*))
    };
}
pub(crate) use diag;

/// Sends the `tracing` events of the delivery layer (spool warnings, refused alerts, sink
/// errors, a sink back) to stderr through [`Stderr`]: otsentry's `info` and above, other
/// crates' `warn`, unless `RUST_LOG` says otherwise.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,otsentry=info")),
        )
        .with_writer(Stderr)
        .with_ansi(false)
        .try_init();
}
