//! `gwb man`: the man page (roff) to stdout, or with `--dir` one page per subcommand, so the
//! `man:gwb(1)` a systemd unit points at and `man gwb-report` both exist once installed.

use std::io::Write;

use crate::cli::{Cli, ManArgs};
use crate::error::{ExitStatus, UsageError};

pub(crate) fn run(args: &ManArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = &args.dir else {
        clap_mangen::Man::new(cmd).render(out)?;
        out.flush()?;
        return Ok(ExitStatus::Ok);
    };
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "--dir {}: not a directory; create it first (nothing was written)",
            dir.display()
        ))
        .into());
    }
    let mut pages = vec![("gwb.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("gwb-{}", sub.get_name());
        // clap names are &'static str (without its "string" feature); a few bytes, once.
        let page = sub.clone().name(&*Box::leak(name.clone().into_boxed_str()));
        pages.push((format!("{name}.1"), page));
    }
    for (file, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        let path = dir.join(&file);
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(ExitStatus::Ok)
}
