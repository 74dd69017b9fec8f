//! What every command shares about its output and its exit code.
//!
//! Exit codes, as `indgang --help` and the README say: 0 success; 1 the input (a file, a row, a
//! named id) was checked and found wanting; 2 anything else that stops a command: a usage or
//! configuration error, an unreadable file, a database that cannot be opened. A command marks
//! the first kind with [`Wanting`]; every other error is the second. `serve` is the exception
//! that a service manager needs: 2 only for a bad configuration (not worth a restart), 1 when it
//! cannot start or stops for another reason ([`Stopped`]; the systemd unit restarts it).
//!
//! Standard output may be a pipe that closes early (`indgang validate … | head`): the command
//! then stops quietly with code 0, as ripgrep does, instead of panicking in `println!`.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// The input was checked and found wanting: exit code 1.
#[derive(Debug)]
pub struct Wanting(pub String);

impl fmt::Display for Wanting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Wanting {}

/// `serve` failed for a reason other than its configuration: exit code 1. It holds the whole
/// chain of causes, as `{:#}` shows it.
#[derive(Debug)]
pub struct Stopped(pub String);

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stopped {}

/// The exit code of a command that stopped with `error`.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    if error.downcast_ref::<Wanting>().is_some() || error.downcast_ref::<Stopped>().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    }
}

/// Writes to standard output; a closed pipe ends the process quietly (see the module doc).
pub fn write(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(args) {
        stopped(&error);
    }
}

/// Writes a line to standard output, as [`write`].
pub fn line(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        stopped(&error);
    }
}

/// The end of a write to standard output made otherwise (a `BufWriter` of many lines): an error
/// ends the process as in [`write`].
pub fn written(result: std::io::Result<()>) {
    if let Err(error) = result {
        stopped(&error);
    }
}

fn stopped(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        // Whoever reads has what it wanted (`| head`).
        std::process::exit(0);
    }
    let _ = writeln!(std::io::stderr(), "indgang: cannot write the output: {error}");
    std::process::exit(2);
}

/// `println!` for the commands' output: see [`line`].
macro_rules! outln {
    () => { $crate::cli::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::output::line(format_args!($($arg)*)) };
}

/// `print!` for the commands' output: see [`write`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write(format_args!($($arg)*)) };
}

pub(crate) use {out, outln};

/// `count` and the noun in the number that agrees with it: `1 row`, `2 rows`.
pub fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_agree() {
        assert_eq!(super::counted(1, "row", "rows"), "1 row");
        assert_eq!(super::counted(0, "row", "rows"), "0 rows");
        assert_eq!(super::counted(2, "dead letter", "dead letters"), "2 dead letters");
    }
}
