//! All output goes through here: data (references, JSON) on stdout, status and warnings on
//! stderr in cargo's style (a right-aligned verb), coloured only on a terminal without
//! `NO_COLOR`.

use std::io::{IsTerminal, Write};

#[derive(Clone, Copy)]
pub struct Printer {
    color: bool,
    quiet: bool,
    verbose: bool,
}

impl Printer {
    /// `verbose` (`-v`): callers add timings and cache figures to what they print.
    pub fn new(no_color: bool, verbose: bool) -> Printer {
        Printer { color: !no_color && std::io::stderr().is_terminal(), quiet: false, verbose }
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// `    Building example.com/app for linux/amd64`
    pub fn status(&self, verb: &str, message: &str) {
        if self.quiet {
            return;
        }
        let line = if self.color {
            format!("\x1b[1;32m{verb:>12}\x1b[0m {message}\n")
        } else {
            format!("{verb:>12} {message}\n")
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    pub fn warning(&self, message: &str) {
        let label = if self.color { "\x1b[1;33mwarning\x1b[0m" } else { "warning" };
        let _ = writeln!(std::io::stderr().lock(), "{label}: {message}");
    }

    pub fn note(&self, message: &str) {
        let label = if self.color { "\x1b[1;36mnote\x1b[0m" } else { "note" };
        let _ = writeln!(std::io::stderr().lock(), "{label}: {message}");
    }

    pub fn error(&self, message: &str) {
        let label = if self.color { "\x1b[1;31merror\x1b[0m" } else { "error" };
        let _ = writeln!(std::io::stderr().lock(), "{label}: {message}");
    }

    /// Log text on stderr as it is (CI log groups and workflow commands).
    pub fn log(&self, text: &str) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// One line of data on stdout.
    pub fn data(&self, line: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}

/// Build progress rendered as status lines.
pub struct StatusProgress(pub Printer);

impl crate::build::Progress for StatusProgress {
    fn building(&self, import_path: &crate::build::ImportPath, platform: &crate::image::Platform) {
        self.0.status("Building", &format!("{import_path} for {platform}"));
    }

    fn warning(&self, message: &str) {
        self.0.warning(message);
    }
}
