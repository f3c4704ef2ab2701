//! The `otsentry` binary: parses arguments, runs the chosen command, prints errors with their cause chain.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = otsentry::cli::Cli::parse();
    match otsentry::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A closed pipe (`otsentry inspect | head`) is not a failure.
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            // A stderr that cannot be written must not turn a clear failure into a panic.
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {error}");
            for cause in error.chain().skip(1) {
                let _ = writeln!(stderr, "  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

/// Makes a `println!` into a closed pipe end the process with success instead of a panic.
///
/// The commands write through `writeln!` and return the error, which `main` treats as success.
/// A `println!` left anywhere (a command, a library) would panic with "failed printing to
/// stdout" when the reader has gone (`otsentry ... | head`); this hook turns exactly that panic
/// into exit 0. Other write failures (a full disk) and every other panic keep the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let broken_pipe = std::io::Error::from_raw_os_error(EPIPE).to_string();
        let closed_stdout = info.payload_as_str().is_some_and(|message| {
            message.starts_with("failed printing to stdout") && message.ends_with(&broken_pipe)
        });
        if closed_stdout {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// `EPIPE`, the same on Linux, macOS and the BSDs.
const EPIPE: i32 = 32;
