//! The dispatcher: which command runs against a tenant, with which printer, and what the
//! identity needs when Graph refuses it. Called by `lib::run` for one tenant and by `fleet` for
//! each member; it imports neither.

use std::io::Write;

use crate::cli::Command;
use crate::error::ExitStatus;
use crate::permissions::{READ_GROUPS, ROLE_ASSIGNABLE, WRITE_GROUPS, WRITE_SETTINGS};
use crate::{commands, session};

/// A command that talks to Graph, run in session `s` (one tenant's), printing to `out`.
pub(crate) async fn on_tenant(
    s: &session::Session,
    command: &Command,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let pageable = match command {
        Command::Report(_) => true,
        Command::DisableExistingM365(a) => a.apply.dry_run,
        Command::Restore(a) => a.apply.dry_run,
        Command::Check(a) => !a.fix || a.apply.dry_run,
        _ => false,
    };
    let mut w = s.paged(out, pageable);
    let fut = async {
        match command {
            Command::Report(args) => commands::report::run(&s.ctx, args, &mut w).await,
            Command::DisableExistingM365(args) => {
                commands::disable::run_with(&s.ctx, args, &s.cfg.policy, s.dirs(), &mut w).await
            }
            Command::SetDefault(args) => {
                commands::set_default::run(&s.ctx, args, s.dirs(), &mut w).await
            }
            Command::Restore(args) => commands::restore::run(&s.ctx, args, s.dirs(), &mut w).await,
            Command::Check(args) => {
                let policy = commands::check::PolicySource {
                    policy: &s.cfg.policy,
                    file: s.cfg.file.as_deref(),
                    looked_at: s.cfg.file_looked_at.as_deref(),
                    notify: s.cfg.notify.as_deref().map_err(Clone::clone)?,
                };
                let to = crate::notify::Sending {
                    destinations: policy.notify,
                    client: &s.ctx.client,
                    deadline: s.ctx.deadline,
                    tenant: s.ctx.target.as_notified(),
                    in_fleet: s.ctx.documents.is_some(),
                };
                let checked = commands::check::run(&s.ctx, args, policy, s.dirs(), &mut w).await;
                crate::notify::after_check(to, checked).await
            }
            Command::Config(crate::cli::ConfigArgs {
                action:
                    crate::cli::ConfigAction::Init {
                        path,
                        force,
                        from_tenant: true,
                    },
            }) => {
                // A fleet tenant's baseline goes into the file that holds its entry.
                let path = path
                    .as_deref()
                    .or(s.cfg.file.as_deref().filter(|_| s.cfg.tenant.is_some()))
                    .or(s.cfg.file_looked_at.as_deref());
                commands::check::baseline::write(&s.ctx, path, *force).await
            }
            other => unreachable!("{} does not run against a tenant", other.name()),
        }
    };
    let r = s
        .run(command, fut)
        .await
        .map_err(|e| session::with_permission_hint(e, for_command(command).as_deref()));
    w.finish();
    r
}

/// What a command needs, for the hint after a 403; `None` for commands that name their
/// permissions in their own messages (set-default) or talk to no tenant.
fn for_command(command: &Command) -> Option<String> {
    Some(match command {
        Command::Report(_) => format!("{READ_GROUPS} (which also reads the tenant default)"),
        Command::DisableExistingM365(_) | Command::Restore(_) => {
            format!("{WRITE_GROUPS} (role-assignable groups also need {ROLE_ASSIGNABLE})")
        }
        Command::Check(a) if a.fix => {
            format!("{WRITE_GROUPS}, and {WRITE_SETTINGS} when the policy sets new_m365_default")
        }
        Command::Check(_) => READ_GROUPS.to_string(),
        Command::Config(_) => format!("{READ_GROUPS} (which also reads the tenant default)"),
        _ => return None,
    })
}
