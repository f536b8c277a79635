//! `gwb report`: every group's raw and effective writeback state, plus the tenant default.
//!
//! One paged pass over `/beta/groups` (`$select`, `$top=999`) and, at the same time, one read
//! of `/beta/settings`. Each page is turned into compact rows and its body dropped, so memory
//! grows with the rows only.

use std::io::Write;

use anyhow::Context as _;
use futures_util::{StreamExt, pin_mut};

use super::Context;
use crate::ExitStatus;
use crate::cli::{OutputFormat, ReportArgs};
use crate::graph::model::{DirectorySetting, GROUP_SELECT, Group};
use crate::graph::{GraphClient, GraphError};
use crate::output::{TenantSection, write_report};
use crate::writeback::summary::{ReportRow, Summary};
use crate::writeback::tenant::tenant_default;

/// Read every directory setting (one page in practice, but follow nextLinks anyway).
pub async fn read_settings(client: &GraphClient) -> Result<Vec<DirectorySetting>, GraphError> {
    let stream = client.pages::<DirectorySetting>(client.url("settings"), Vec::new());
    pin_mut!(stream);
    let mut all = Vec::new();
    while let Some(page) = stream.next().await {
        all.extend(page?);
    }
    Ok(all)
}

/// The URL of the first page of the group listing.
pub fn groups_url(client: &GraphClient) -> url::Url {
    let mut url = client.url("groups");
    url.query_pairs_mut()
        .append_pair("$select", GROUP_SELECT)
        .append_pair("$top", "999");
    url
}

pub async fn run(
    ctx: &Context,
    args: &ReportArgs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let client = &ctx.client;
    let groups = async {
        let stream = client.pages::<Group>(groups_url(client), Vec::new());
        pin_mut!(stream);
        let mut rows = Vec::new();
        let mut summary = Summary::default();
        let mut pages = 0u64;
        while let Some(page) = stream.next().await {
            let page = page.context("listing groups")?;
            pages += 1;
            for g in page {
                let row = ReportRow::from_group(g)?;
                let shown = (args.kind.is_empty() || args.kind.contains(&row.kind))
                    && (!args.written_back || row.written_back);
                summary.add(&row, shown);
                if shown {
                    rows.push(row);
                }
            }
            tracing::debug!(
                pages,
                groups = summary.total_groups,
                "read a page of groups"
            );
        }
        anyhow::Ok((rows, summary))
    };
    let (settings, groups) = tokio::join!(read_settings(client), groups);
    let (rows, summary) = groups?;
    let tenant = match settings {
        Ok(s) => TenantSection::known(&tenant_default(&s)),
        Err(e) if e.is_auth() => {
            // Group.Read.All alone cannot read settings: still report the groups.
            tracing::warn!("cannot read the tenant default: {e}");
            TenantSection::unreadable(e.to_string())
        }
        Err(e) => return Err(anyhow::Error::new(e).context("reading directory settings")),
    };
    write_report(out, ctx.format, &tenant, &rows, &summary)?;
    if matches!(ctx.format, OutputFormat::Csv | OutputFormat::Ndjson) && summary.warnings > 0 {
        tracing::warn!(
            "{} groups have a writeback configuration that needs attention",
            summary.warnings
        );
    }
    Ok(ExitStatus::Ok)
}
