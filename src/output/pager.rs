//! Long output through a pager on a terminal, as `gh` and `git` do: `GWB_PAGER`, else `PAGER`,
//! else `less -FRX` (which leaves output shorter than a screen on it, as if printed); any pager
//! gets `LESS=FRX` and `LV=-c` when they are unset, so `PAGER=less` behaves too. Only for
//! commands that read (report, check without --fix, dry runs, restore --list): a command that
//! may prompt keeps the terminal. Off when stdout is not a terminal, with `--no-pager`, or when
//! the pager is `cat`. A pager that cannot start is no pager: the output is printed.

use std::io::{self, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::PipeTolerant;

/// `command` with `LESS=FRX` and `LV=-c` when they are unset, as git and gh do: `less` then
/// leaves output shorter than a screen on it, passes colours, and does not clear the screen.
/// The shell decides what is unset, so gwb reads no environment variable for it.
fn script(command: &str) -> String {
    format!("export LESS=\"${{LESS-FRX}}\" LV=\"${{LV--c}}\"; {command}")
}

/// The pager's standard input, while it runs.
pub(crate) struct Pager {
    child: Child,
    stdin: Option<PipeTolerant<io::BufWriter<ChildStdin>>>,
}

impl Pager {
    /// Start `command` (run by `sh -c`), or `None` when it is `cat` or cannot start.
    pub(crate) fn start(command: &str) -> Option<Pager> {
        let command = command.trim();
        if command.is_empty() || command == "cat" {
            return None;
        }
        let mut child = match Command::new("sh")
            .args(["-c", &script(command)])
            .stdin(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("the pager {command:?} did not start ({e}); printing instead");
                return None;
            }
        };
        let stdin = child.stdin.take()?;
        Some(Pager {
            child,
            stdin: Some(PipeTolerant::new(io::BufWriter::new(stdin))),
        })
    }

    /// Close the pager's input and wait until the person leaves it.
    pub(crate) fn finish(mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.flush();
        }
        let _ = self.child.wait();
    }
}

impl Write for Pager {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.stdin {
            Some(s) => s.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stdin {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }
}

/// Output to a pager, or straight to stdout.
pub(crate) enum Paged<'a> {
    Pager(Pager),
    Direct(&'a mut dyn Write),
}

impl<'a> Paged<'a> {
    /// Through `pager` when the command only reads (`pageable`), prints a table, and stdout is
    /// a terminal; else straight to `out`.
    pub(crate) fn new(
        out: &'a mut dyn Write,
        pager: Option<&str>,
        format: crate::cli::OutputFormat,
        pageable: bool,
    ) -> Paged<'a> {
        use std::io::IsTerminal;
        let wanted = pageable
            && format == crate::cli::OutputFormat::Table
            && std::io::stdout().is_terminal();
        match pager.filter(|_| wanted).and_then(Pager::start) {
            Some(p) => Paged::Pager(p),
            None => Paged::Direct(out),
        }
    }

    /// Wait for the pager, if there is one.
    pub(crate) fn finish(self) {
        if let Paged::Pager(p) = self {
            p.finish();
        }
    }
}

impl Write for Paged<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Paged::Pager(p) => p.write(buf),
            Paged::Direct(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Paged::Pager(p) => p.flush(),
            Paged::Direct(w) => w.flush(),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn less_gets_frx_and_lv_c_only_when_unset() {
        let run = |env: &[(&str, &str)]| {
            let mut c = Command::new("sh");
            c.env_remove("LESS").env_remove("LV");
            for (k, v) in env {
                c.env(k, v);
            }
            let out = c
                .args(["-c", &script("echo \"$LESS|$LV\"")])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(run(&[]), "FRX|-c\n");
        assert_eq!(
            run(&[("LESS", "R"), ("LV", "")]),
            "R|\n",
            "a person's own stay"
        );
    }
}
