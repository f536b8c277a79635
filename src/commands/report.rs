//! `gwb report`: every group's raw and effective writeback state, plus the tenant default.
//!
//! One paged pass over `/beta/groups` (`$select`, `$top=999`) and, at the same time, one read
//! of `/beta/settings`. Each page is turned into compact rows and its body dropped, so memory
//! grows with the rows only.

use std::io::Write;

use crate::change::Context;
use crate::cli::{OutputFormat, ReportArgs};
use crate::doc::TenantSection;
use crate::error::ExitStatus;
use crate::graph::GraphClient;
use crate::graph::model::GroupId;
use crate::output;
use crate::output::rows::RowWriter;
use crate::writeback::engines::SyncFeatures;
use crate::writeback::summary::{ReportRow, Summary};
use crate::writeback::tenant::tenant_default;

/// Count the members of every written-back row, 20 `$count` requests per `$batch`.
async fn count_members(
    client: &GraphClient,
    rows: &mut [ReportRow<'_>],
    summary: &mut Summary,
) -> anyhow::Result<()> {
    // An id that is not a GUID goes into no URL: that row is marked, the rest are counted.
    let mut keys = Vec::new();
    let mut ids: Vec<Option<GroupId>> = vec![None; rows.len()];
    let written_back: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].written_back).collect();
    for i in written_back {
        if let Some(id) = GroupId::parse(&rows[i].id) {
            ids[i] = Some(id);
            keys.push(i);
        } else {
            let row = &mut rows[i];
            let had_warning = row.warning.is_some();
            row.add_warning(
                "member count unavailable: Graph listed this group with an id that is not a GUID"
                    .into(),
            );
            if !had_warning {
                summary.warnings += 1;
            }
        }
    }
    let make = |key: usize| {
        let id = ids[key].as_ref().expect("only parsed ids are keys");
        crate::graph::groups::member_count(key, id)
    };
    let bar = output::progress_bar(keys.len() as u64, "counting");
    let outcomes = crate::graph::groups::counts(client, keys, make, &bar).await?;
    for (key, counted) in outcomes {
        let row = &mut rows[key];
        let had_warning = row.warning.is_some();
        match counted {
            Ok(n) => {
                if row.set_member_count(n) {
                    summary.over_member_limit += 1;
                }
            }
            Err(e) => row.add_warning(format!("member count unavailable: {e}")),
        }
        if !had_warning && row.warning.is_some() {
            summary.warnings += 1;
        }
    }
    Ok(())
}

/// Read `onPremisesSyncBehavior.isCloudManaged` of the groups that came from AD and are synced
/// no more, 20 to a `$batch`: true marks the group `movedToCloud`. They are few, so they are
/// read after the listing. Without the permission the rows stay `formerlySynced` and the
/// reason comes back, to be said once.
async fn read_sources(
    client: &GraphClient,
    mut targets: Vec<&mut ReportRow<'_>>,
) -> anyhow::Result<Option<String>> {
    if targets.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Option<GroupId>> = targets.iter().map(|r| GroupId::parse(&r.id)).collect();
    let keys: Vec<usize> = (0..ids.len()).filter(|&i| ids[i].is_some()).collect();
    let make = |key: usize| {
        let id = ids[key].as_ref().expect("only parsed ids are keys");
        crate::graph::groups::sync_behavior(key, id)
    };
    let bar = output::progress_bar(keys.len() as u64, "reading sources of authority");
    let read = crate::graph::groups::reads(
        client,
        keys,
        make,
        crate::graph::groups::parse_cloud_managed,
        &bar,
    )
    .await?;
    let mut error = None;
    for (key, r) in read {
        match r {
            Ok(managed) => {
                targets[key].set_cloud_managed(managed);
            }
            Err(e) => {
                let why = if e.is_auth() {
                    format!("needs {}", crate::permissions::READ_SYNC_BEHAVIOR)
                } else {
                    e.to_string()
                };
                error.get_or_insert(why);
            }
        }
    }
    if let Some(e) = &error {
        tracing::warn!(
            "cannot read whether groups that came from AD are cloud-managed now: {}",
            crate::output::safe(e)
        );
    }
    for t in &mut targets {
        t.settle_source();
    }
    Ok(error)
}

/// What writes groups to AD, as far as Graph shows it: Entra Connect's sync features and Cloud
/// Sync's jobs, and from them who acts on security groups' writeback flag. Read before the
/// groups, so each security group with writeback enabled can say it as it is listed.
struct Engines {
    sync: SyncFeatures,
    cloud: crate::writeback::engines::CloudSync,
    verdict: crate::writeback::engines::SecurityWriteback,
}

async fn engines(client: &GraphClient, none_confirmed: bool) -> Engines {
    let (sync, cloud) = tokio::join!(
        super::read::read_sync_features(client),
        super::read::read_cloud_sync(client)
    );
    let verdict = crate::writeback::engines::SecurityWriteback::judge(
        Some(&cloud),
        Some(&sync),
        none_confirmed,
    );
    Engines {
        sync,
        cloud,
        verdict,
    }
}

/// Flag a security group with writeback enabled that nothing (but a discontinued engine) acts
/// on: Graph says written back, and the row says why AD may never see it.
fn flag(verdict: &crate::writeback::engines::SecurityWriteback, row: &mut ReportRow) {
    use crate::writeback::engines::ActedOnBy;
    use crate::writeback::summary::SourceOfAuthority;
    // Writeback v1 alone writes every cloud Microsoft 365 group back, whatever its flag
    // (isEnabled stays raw in the row; writtenBack says what AD receives).
    if verdict.v1_alone
        && row.kind == crate::writeback::Kind::Microsoft365
        && row.source_of_authority == SourceOfAuthority::Cloud
    {
        row.written_back = true;
        row.written_back_as = Some(crate::graph::model::UNIVERSAL_DISTRIBUTION);
        row.reason = crate::writeback::Reason::V1WritesAll;
        return;
    }
    // A security group with an AD SID that a Cloud Sync group provisioning job may provision
    // (its scope is the default clause, unknown, or the flag and the flag is on): its SID may
    // be Cloud Sync's, so "came from AD" waits on isCloudManaged (see `settle_source`).
    if row.came_from_ad() && row.kind == crate::writeback::Kind::Security {
        row.cloud_sync_scope = verdict.group_job_scopes.iter().any(|s| match s {
            Some(true) => row.is_enabled == Some(true),
            _ => true,
        });
    }
    if row.kind != crate::writeback::Kind::Security || !row.written_back {
        return;
    }
    match verdict.acted_on_by {
        ActedOnBy::ConnectSyncV2 => row.add_warning(crate::writeback::engines::FLAG_ONLY_V2.into()),
        ActedOnBy::Nothing => row.add_warning(crate::writeback::engines::FLAG_NOTHING.into()),
        ActedOnBy::CloudSync | ActedOnBy::Unknown => {}
    }
}

/// The verdict on security groups' flag, as it becomes known: the engines are read while the
/// groups are listed, so a report waits for them no longer than their own requests take.
type Verdict = tokio::sync::watch::Receiver<Option<crate::writeback::engines::SecurityWriteback>>;

/// Once the verdict is known (or its sender is gone: then `Flagging::finish` says so).
async fn known(mut verdict: Verdict) {
    let _ = verdict.wait_for(Option::is_some).await;
}

/// Rows wait here until the verdict is known (the first page or two), then go on flagged, in
/// the order they were listed.
struct Flagging {
    verdict: Verdict,
    known: Option<crate::writeback::engines::SecurityWriteback>,
    /// Rows of the first page, kept (so copied) until the verdict is known.
    pending: Vec<ReportRow<'static>>,
}

impl Flagging {
    fn new(verdict: Verdict) -> Self {
        Flagging {
            verdict,
            known: None,
            pending: Vec::new(),
        }
    }

    /// Pass `row` on to `emit` flagged, with any held before it, once the verdict is known;
    /// until then hold it.
    fn pass(
        &mut self,
        row: ReportRow<'_>,
        emit: &mut impl FnMut(&ReportRow<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.known.is_none() {
            self.known = self.verdict.borrow().clone();
        }
        let Some(v) = &self.known else {
            self.pending.push(row.into_owned());
            return Ok(());
        };
        for mut r in self.pending.drain(..) {
            flag(v, &mut r);
            emit(&r)?;
        }
        let mut row = row;
        flag(v, &mut row);
        emit(&row)
    }

    /// After the listing: wait for the verdict, and pass on what is held.
    async fn finish(
        mut self,
        emit: &mut impl FnMut(&ReportRow<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.known.is_none() {
            let v = self
                .verdict
                .wait_for(Option::is_some)
                .await
                .map_err(|_| anyhow::anyhow!("the engines were not read"))?
                .clone();
            self.known = v;
        }
        let v = self.known.as_ref().expect("known after the wait");
        for mut r in self.pending.drain(..) {
            flag(v, &mut r);
            emit(&r)?;
        }
        Ok(())
    }
}

/// The engines, read while the groups are listed: the verdict goes to `tx` as soon as it is
/// known, the rest to the tenant section.
async fn engines_then_tell(
    client: &GraphClient,
    none_confirmed: bool,
    tx: tokio::sync::watch::Sender<Option<crate::writeback::engines::SecurityWriteback>>,
) -> Engines {
    let e = engines(client, none_confirmed).await;
    let _ = tx.send(Some(e.verdict.clone()));
    e
}

/// The tenant section: the default for new Microsoft 365 groups (read here) and the engines
/// (read before). Without the permission to read settings the report still lists the groups.
async fn tenant_section(client: &GraphClient, engines: Engines) -> anyhow::Result<TenantSection> {
    let mut tenant = match crate::graph::settings::list(client).await {
        Ok(s) => TenantSection::known(&tenant_default(&s)),
        // Sign-in itself failed: the listing fails with the same error, said once.
        Err(e @ crate::graph::GraphError::Token(_)) => TenantSection::unreadable(e.to_string()),
        Err(e) if e.is_auth() => {
            // Group.Read.All alone cannot read settings: still report the groups.
            tracing::warn!("cannot read the tenant default: {e}");
            TenantSection::unreadable(e.to_string())
        }
        Err(e) => return Err(anyhow::Error::new(e).context("reading directory settings")),
    };
    tenant.security_writeback = Some(engines.verdict);
    tenant.sync_features = Some(engines.sync);
    tenant.cloud_sync = Some(engines.cloud);
    Ok(tenant)
}

/// Whether `--kind` and `--written-back` show this row.
fn shown(args: &ReportArgs, row: &ReportRow) -> bool {
    (args.kind.is_empty() || args.kind.contains(&row.kind))
        && (!args.written_back || row.written_back)
}

/// Where streamed rows go: a data format, or the table.
enum Sink<'a> {
    Data(RowWriter<'a>),
    Table(crate::output::table::TableWriter<'a>),
}

/// Counts over every group read, and over the rows shown (the table's summary under a filter).
struct Counted {
    all: Summary,
    shown: Summary,
}

/// List the groups, writing each row shown as it is read, and count them all.
async fn stream_rows(
    client: &GraphClient,
    args: &ReportArgs,
    format: OutputFormat,
    tenant: Option<&TenantSection>,
    meta: &crate::doc::Meta,
    verdict: Verdict,
    out: &mut dyn Write,
) -> anyhow::Result<Counted> {
    let mut all = Summary::default();
    let mut shown_rows = Summary::default();
    let mut sink = match format {
        // Measured on the first page, then written as read.
        OutputFormat::Table => Sink::Table(crate::output::table::TableWriter::new(
            out,
            layout(args),
            999,
        )),
        f => Sink::Data(RowWriter::start(out, f, tenant, Some(meta))?),
    };
    // Groups that came from AD are written last, once their source of authority is read.
    let mut from_ad: Vec<(ReportRow<'static>, bool)> = Vec::new();
    let mut emit = |row: &ReportRow<'_>| {
        let show = shown(args, row);
        all.add(row, show);
        if row.came_from_ad() {
            from_ad.push((row.clone().into_owned(), show));
            return Ok(());
        }
        if show {
            shown_rows.add(row, true);
            match &mut sink {
                Sink::Data(w) => w.row(row)?,
                Sink::Table(t) => t.row(row)?,
            }
        }
        anyhow::Ok(())
    };
    let mut flagging = Flagging::new(verdict.clone());
    // At most a page waits for the verdict: the second page is handed on once it is known.
    super::read::each_group_when(client, known(verdict), |g| {
        flagging.pass(ReportRow::from_group(g)?, &mut emit)
    })
    .await?;
    flagging.finish(&mut emit).await?;
    let error = read_sources(client, from_ad.iter_mut().map(|(r, _)| r).collect()).await?;
    all.is_cloud_managed_error.clone_from(&error);
    shown_rows.is_cloud_managed_error = error;
    for (row, show) in &from_ad {
        all.add_source(row);
        if *show {
            shown_rows.add(row, true);
            shown_rows.add_source(row);
            match &mut sink {
                Sink::Data(w) => w.row(row)?,
                Sink::Table(t) => t.row(row)?,
            }
        }
    }
    match sink {
        Sink::Data(w) => w.finish(&all)?,
        Sink::Table(t) => t.finish()?,
    }
    Ok(Counted {
        all,
        shown: shown_rows,
    })
}

/// How the table is drawn for this terminal and these flags.
fn layout(args: &ReportArgs) -> crate::output::TableLayout {
    crate::output::TableLayout {
        width: crate::output::table::terminal_width(),
        wide: args.wide,
        members: args.member_counts,
    }
}

/// Whether the rows can be written as they are read: memory then stays flat at any size.
/// Member counts need every row first; the HTML page is one document; JSON to stdout is kept
/// whole so that a failed run prints none of it (JSON to a `--out` file streams: the file only
/// appears when the run succeeds). The table streams, its columns measured on the first page.
fn streams(ctx: &Context, args: &ReportArgs) -> bool {
    !args.member_counts
        && match ctx.format {
            OutputFormat::Ndjson | OutputFormat::Csv | OutputFormat::Table => true,
            OutputFormat::Json => ctx.out_is_file,
            OutputFormat::Html | OutputFormat::Junit => false,
        }
}

/// Every group's row (those the filters show, and those from AD they hide, for the summary's
/// counts), flagged once the engines' verdict is known, with sources of authority read.
async fn read_all_rows(
    client: &GraphClient,
    args: &ReportArgs,
    verdict: tokio::sync::watch::Receiver<Option<crate::writeback::engines::SecurityWriteback>>,
) -> anyhow::Result<(Vec<ReportRow<'static>>, Summary)> {
    let mut rows = Vec::new();
    // Groups from AD that the filters hide: read too, for the summary's counts.
    let mut hidden = Vec::new();
    let mut summary = Summary::default();
    let mut emit = |row: &ReportRow<'_>| {
        let show = shown(args, row);
        summary.add(row, show);
        if show {
            rows.push(row.clone().into_owned());
        } else if row.came_from_ad() {
            hidden.push(row.clone().into_owned());
        }
        anyhow::Ok(())
    };
    let mut flagging = Flagging::new(verdict.clone());
    // At most a page waits for the verdict: the second page is handed on once it is known.
    super::read::each_group_when(client, known(verdict), |g| {
        flagging.pass(ReportRow::from_group(g)?, &mut emit)
    })
    .await?;
    flagging.finish(&mut emit).await?;
    let targets = rows
        .iter_mut()
        .filter(|r| r.came_from_ad())
        .chain(hidden.iter_mut())
        .collect();
    summary.is_cloud_managed_error = read_sources(client, targets).await?;
    for r in rows.iter().chain(&hidden) {
        summary.add_source(r);
    }
    Ok((rows, summary))
}

pub async fn run(
    ctx: &Context,
    args: &ReportArgs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    use OutputFormat::{Csv, Html, Json, Ndjson, Table};
    crate::output::require::<crate::output::ReportView>(ctx.format, "report")?;
    let client = &ctx.client;
    let meta = ctx.meta("report");
    let (tx, verdict) = tokio::sync::watch::channel(None);
    let none_confirmed = ctx.no_cloud_sync_group_provisioning;
    let tenant =
        async { tenant_section(client, engines_then_tell(client, none_confirmed, tx).await).await };
    let (tenant, summary) = if streams(ctx, args) && ctx.format == Json {
        // JSON names the tenant before the groups: read it first (a few requests' time).
        let tenant = tenant.await?;
        let counted =
            stream_rows(client, args, ctx.format, Some(&tenant), &meta, verdict, out).await?;
        (tenant, counted.all)
    } else if streams(ctx, args) {
        let (tenant, counted) = tokio::join!(
            tenant,
            stream_rows(client, args, ctx.format, None, &meta, verdict, out)
        );
        let (tenant, counted) = (tenant?, counted?);
        if ctx.format == Table {
            crate::output::write_table_tail(
                out,
                &tenant,
                &counted.shown,
                &counted.all,
                layout(args),
            )?;
            out.flush()?;
        }
        (tenant, counted.all)
    } else {
        let groups = read_all_rows(client, args, verdict);
        let (tenant, groups) = tokio::join!(tenant, groups);
        let (mut rows, mut summary) = groups?;
        let tenant = tenant?;
        if args.member_counts {
            count_members(client, &mut rows, &mut summary).await?;
        }
        let about = crate::output::About {
            tenant: match ctx.format {
                Html => crate::change::pipeline::tenant_words(ctx).await,
                _ => String::new(),
            },
            command: command_line(args),
        };
        let view = crate::output::ReportView {
            tenant: &tenant,
            rows: &rows,
            summary: &summary,
            layout: layout(args),
            member_counts: args.member_counts,
            about,
            meta: meta.clone(),
        };
        match (&ctx.documents, ctx.format) {
            // A fleet page holds every tenant's page.
            (Some(docs), Html) => docs.page(view.page()),
            _ => crate::output::render(&view, ctx.format, out)?,
        }
        (tenant, summary)
    };
    record_metrics(&tenant, &summary);
    if matches!(ctx.format, Csv | Ndjson) && summary.warnings > 0 {
        tracing::warn!(
            "{} {} a writeback configuration that needs attention",
            crate::output::table::groups(summary.warnings),
            crate::output::table::agree(summary.warnings, "has", "have")
        );
    }
    Ok(ExitStatus::Ok)
}

/// `--metrics-file`: groups by kind, written back or not, and the tenant default.
fn record_metrics(tenant: &TenantSection, summary: &Summary) {
    for (kind, c) in &summary.by_kind {
        let k = kind.as_str();
        crate::metrics::record(
            "gwb_groups",
            &[("kind", k), ("written_back", "true")],
            c.written_back as f64,
        );
        crate::metrics::record(
            "gwb_groups",
            &[("kind", k), ("written_back", "false")],
            c.total.saturating_sub(c.written_back) as f64,
        );
    }
    crate::metrics::record_tenant_default(tenant.new_unified_group_writeback_default);
}

/// The command as the page's header shows it: `gwb report` and the flags that chose the rows.
fn command_line(args: &ReportArgs) -> String {
    let mut s = String::from("gwb report");
    for k in &args.kind {
        if let Some(v) = clap::ValueEnum::to_possible_value(k) {
            s.push_str(&format!(" --kind {}", v.get_name()));
        }
    }
    if args.written_back {
        s.push_str(" --written-back");
    }
    if args.member_counts {
        s.push_str(" --member-counts");
    }
    s.push_str(" -o html");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writeback::engines::{ActedOnBy, SecurityWriteback};
    use crate::writeback::summary::SourceOfAuthority;
    use crate::writeback::{Kind, Reason};

    fn verdict(by: ActedOnBy) -> Option<SecurityWriteback> {
        Some(SecurityWriteback {
            v1_alone: false,
            group_job_scopes: Vec::new(),
            acted_on_by: by,
            cloud_sync_jobs: Vec::new(),
            explanation: String::new(),
        })
    }

    fn security(id: &str, written_back: bool) -> ReportRow<'_> {
        ReportRow {
            id: id.into(),
            display_name: Some(id.into()),
            kind: Kind::Security,
            synced_from_on_premises: false,
            is_enabled: Some(written_back),
            on_premises_group_type: None,
            written_back,
            written_back_as: written_back.then_some("universalSecurityGroup"),
            reason: if written_back {
                Reason::Enabled
            } else {
                Reason::Disabled
            },
            warning: None,
            is_assignable_to_role: None,
            created_date_time: None,
            member_count: None,
            source_of_authority: SourceOfAuthority::Cloud,
            is_cloud_managed: None,
            cloud_sync_scope: false,
            plain: Default::default(),
        }
    }

    /// Rows listed before the verdict is known wait, then go on flagged and in order; rows
    /// after it go on at once.
    #[tokio::test]
    async fn rows_wait_for_the_verdict_then_go_on_flagged_in_order() {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let mut flagging = Flagging::new(rx);
        let mut out: Vec<ReportRow> = Vec::new();
        let mut emit = |r: &ReportRow<'_>| {
            out.push(r.clone().into_owned());
            anyhow::Ok(())
        };
        flagging.pass(security("a", true), &mut emit).unwrap();
        flagging.pass(security("b", false), &mut emit).unwrap();
        assert_eq!(flagging.pending.len(), 2, "held until the verdict");
        tx.send(verdict(ActedOnBy::ConnectSyncV2)).unwrap();
        flagging.pass(security("c", true), &mut emit).unwrap();
        flagging.finish(&mut emit).await.unwrap();
        let ids: Vec<&str> = out.iter().map(|r| &*r.id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let flagged: Vec<bool> = out
            .iter()
            .map(|r| r.warning.as_deref() == Some(crate::writeback::engines::FLAG_ONLY_V2))
            .collect();
        assert_eq!(flagged, [true, false, true]);
    }

    /// A listing that ends before the verdict: what is held goes on once it comes.
    #[tokio::test]
    async fn the_listing_may_end_before_the_verdict() {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let mut flagging = Flagging::new(rx);
        let mut out: Vec<ReportRow> = Vec::new();
        let mut emit = |r: &ReportRow<'_>| {
            out.push(r.clone().into_owned());
            anyhow::Ok(())
        };
        flagging.pass(security("a", true), &mut emit).unwrap();
        let send = async {
            tx.send(verdict(ActedOnBy::CloudSync)).unwrap();
        };
        let (finished, ()) = tokio::join!(flagging.finish(&mut emit), send);
        finished.unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].warning, None, "Cloud Sync acts on the flag");
    }
}
