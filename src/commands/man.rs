//! `gwb man`: the man page (roff) to stdout, or with `--dir` one page per subcommand, so the
//! `man:gwb(1)` a systemd unit points at and `man gwb-report` both exist once installed.

use std::io::Write;

use crate::cli::{Cli, ManArgs};
use crate::error::{ExitStatus, UsageError};

pub(crate) fn run(args: &ManArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = &args.dir else {
        let examples = cmd.get_after_help().map(|h| h.to_string());
        clap_mangen::Man::new(cmd).render(out)?;
        sections(out, examples.as_deref())?;
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
        let examples = page.get_after_help().map(|h| h.to_string());
        clap_mangen::Man::new(page).render(&mut text)?;
        sections(&mut text, examples.as_deref())?;
        let path = dir.join(&file);
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(ExitStatus::Ok)
}

/// The sections a man page has beyond what clap writes: EXIT STATUS, ENVIRONMENT, FILES and
/// the command's EXAMPLES (its help's examples, or gwb(1)'s own).
fn sections(out: &mut dyn Write, examples: Option<&str>) -> std::io::Result<()> {
    let section = |out: &mut dyn Write, title: &str, items: &[(&str, &str)]| {
        writeln!(out, ".SH \"{title}\"")?;
        for (term, text) in items {
            writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))?;
        }
        Ok::<_, std::io::Error>(())
    };
    section(out, "EXIT STATUS", EXIT_STATUS)?;
    section(out, "ENVIRONMENT", ENVIRONMENT)?;
    section(out, "FILES", FILES)?;
    // A command's help ends with its examples; gwb(1)'s own are the first hour's.
    let lines: Vec<&str> = match examples.and_then(|h| h.split_once("Examples:")) {
        Some((_, ex)) => ex.lines().filter(|l| !l.trim().is_empty()).collect(),
        None => TOP_EXAMPLES.to_vec(),
    };
    writeln!(out, ".SH EXAMPLES\n.nf")?;
    for line in lines {
        writeln!(out, "{}", roff(line.trim_start()))?;
    }
    writeln!(out, ".fi")
}

const TOP_EXAMPLES: &[&str] = &[
    "gwb --emulator report                      a sample tenant, no sign-in",
    "gwb --auth azure-cli report                your tenant, after az login",
    "gwb disable-existing-m365 --dry-run        what the bulk disable would change",
    "gwb config init --from-tenant              today's tenant as a starting policy",
    "gwb check --fix --yes --max-changes 500    the nightly job",
];

/// Text for roff: a leading `.` or `'` would start a request, and `\` starts an escape.
fn roff(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Done."),
    (
        "1",
        "The operation failed or partly failed (any group that could not be changed).",
    ),
    ("2", "A usage or configuration error; nothing was written."),
    (
        "3",
        "check: the tenant has drifted from the policy (after --fix: drift remains).",
    ),
    ("4", "Sign-in or permission refused (no token, 401, 403)."),
    (
        "5",
        "Another writing run holds the lock for this tenant and Graph root.",
    ),
    (
        "130, 143",
        "Stopped by Ctrl-C (SIGINT) or SIGTERM after the writes in flight.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("GWB_CONFIG", "The config file (as --config)."),
    ("GWB_OUTPUT", "The output format (as -o)."),
    (
        "GWB_CLOUD, GWB_GRAPH_URL, AZURE_AUTHORITY_HOST",
        "The national cloud, the Graph root and the sign-in host.",
    ),
    ("GWB_AUTH", "How to sign in (as --auth)."),
    (
        "AZURE_TENANT_ID, AZURE_CLIENT_ID",
        "The tenant and the application.",
    ),
    (
        "AZURE_CLIENT_SECRET, GWB_CLIENT_SECRET_FILE",
        "A client secret, or a file holding it.",
    ),
    (
        "AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_CERTIFICATE_PASSWORD, GWB_CLIENT_CERTIFICATE_PASSWORD_FILE",
        "A client certificate and its password.",
    ),
    (
        "AZURE_FEDERATED_TOKEN_FILE",
        "Workload identity's token file.",
    ),
    (
        "GWB_ACCESS_TOKEN, GWB_ACCESS_TOKEN_FILE",
        "A bearer token obtained elsewhere.",
    ),
    (
        "GWB_READ_TIMEOUT, GWB_REQUEST_TIMEOUT, GWB_DEADLINE, GWB_RETRY_BUDGET, GWB_MAX_PAGES",
        "The limits (as the flags of the same names).",
    ),
    ("GWB_LOCK_DIR", "Where the run locks live."),
    ("GWB_LOG_FORMAT", "text or json logs on stderr."),
    (
        "GWB_PAGER, PAGER",
        "The pager on a terminal; LESS=FRX and LV=-c are set when unset.",
    ),
    ("NO_COLOR", "No colour."),
    (
        "XDG_CONFIG_HOME, XDG_STATE_HOME, HOME",
        "Where the config file and the state (journals, run state) are.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "$XDG_CONFIG_HOME/gwb/config.toml",
        "The config file (gwb config init writes one; --from-tenant writes the tenant's baseline).",
    ),
    (
        "$XDG_STATE_HOME/gwb/*.jsonl",
        "The journal of every writing run: gwb restore undoes one.",
    ),
    (
        "$XDG_STATE_HOME/gwb/",
        "The run state of check (what drifted last time) and the emulator's sample tenant.",
    ),
    (
        "/usr/share/doc/gwb/config.example.toml",
        "Every config key, with what it does (the Debian package).",
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_has_exit_status_environment_files_and_examples() {
        let mut page = Vec::new();
        super::sections(
            &mut page,
            Some("Examples:\n  gwb check -o csv   the drift\n"),
        )
        .unwrap();
        let page = String::from_utf8(page).unwrap();
        for s in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
            assert!(
                page.contains(&format!(".SH \"{s}\"")) || page.contains(&format!(".SH {s}")),
                "{s}"
            );
        }
        assert!(page.contains("gwb check \\-o csv"), "{page}");
        let mut top = Vec::new();
        super::sections(&mut top, None).unwrap();
        assert!(
            String::from_utf8(top)
                .unwrap()
                .contains("\\-\\-from\\-tenant")
        );
    }
}
