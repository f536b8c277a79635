//! The review workflow of `disable-existing-m365` (issue 20): Microsoft advises reviewing the
//! written-back groups and disabling only those AD no longer needs. `--plan-out review.csv`
//! writes the plan as a spreadsheet, one row per group with what an admin decides by (mail
//! address, visibility, Team or not, created, renewed and expiry dates, member and owner
//! counts) and a `decision` column, `disable` by default, that the admin edits to `keep`.
//! `--plan review.csv` applies the edited file with every protection of a saved plan: the
//! same tenant and Graph root, each group read again and changed only while it is as planned.
//!
//! A review can only narrow its plan. Each row carries a `planRef` (a short hash of the plan's
//! id and the group's id), so a row pasted in from elsewhere is refused; one group may stand in
//! one row only; the groups the config's policy keeps are rows pre-filled `keep`, with why in
//! `note`. The header is the first line and the plan's own record (`# gwb review plan`, its
//! schema, Graph root, tenant, time and plan id, in cells of their own) the last, and both are
//! found by what they hold wherever a spreadsheet's sort put them (see `sheet` for delimiters
//! and encodings).

mod sheet;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

pub(crate) use crate::doc::plan::Entry;
use crate::error::UsageError;
use crate::graph::model::{GroupId, ReviewedGroup, WritebackConfiguration};
use crate::output::csv_field;
use crate::writeback::plan::Change;

/// The first cell of a review plan's own record.
pub(crate) const MARK: &str = "# gwb review plan";
/// 2: the header first, the plan's record last with its `planId`, `planRef` and `note` columns.
/// Files of schema 1 (the plan's record first, no `planRef`) are still read.
const SCHEMA_VERSION: u32 = 2;
/// Columns are found by name when the file is read back, so a column added later goes at the
/// end and files saved before it still read.
const HEADER: &str = "decision,id,displayName,mail,visibility,isTeam,createdDateTime,renewedDateTime,expirationDateTime,memberCount,ownerCount,isEnabled,onPremisesGroupType,lastActivityDate,roleAssignable,planRef,note";

/// A new plan's id: what each row's `planRef` is made from.
pub(crate) fn new_plan_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// A group's reference in plan `plan_id`: "r" and the first 12 hex digits of SHA-256 over the
/// plan id and the group id. It shows that the row came from that plan (it is not a secret: it
/// guards against pasted and concatenated rows, not against someone who computes it). The
/// letter keeps a spreadsheet from reading it as a number.
pub(crate) fn plan_ref(plan_id: &str, group_id: &GroupId) -> String {
    let digest = openssl::sha::sha256(
        format!("{plan_id}:{}", group_id.as_str().to_ascii_lowercase()).as_bytes(),
    );
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("r{hex}")
}

/// What the listing says about a group that an admin reviews.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signals {
    mail: Option<String>,
    visibility: Option<String>,
    is_team: bool,
    created: Option<String>,
    renewed: Option<String>,
    expiration: Option<String>,
}

impl Signals {
    pub(crate) fn of(g: &ReviewedGroup) -> Signals {
        Signals {
            mail: g.mail.clone(),
            visibility: g.visibility.clone(),
            is_team: g
                .resource_provisioning_options
                .iter()
                .any(|o| o.eq_ignore_ascii_case("Team")),
            created: g.group.created_date_time.clone(),
            renewed: g.renewed_date_time.clone(),
            expiration: g.expiration_date_time.clone(),
        }
    }
}

/// What a review says of last activity, once for the whole file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LastActivity {
    /// Group id (lowercase) to its last activity date; `None` when the report is unusable.
    pub dates: Option<HashMap<String, Option<String>>>,
    /// `read`, `concealed`, `notPermitted` or `unreadable` (the review plan's first record).
    pub status: &'static str,
    /// For people: where the dates come from, or why there are none.
    pub note: String,
}

/// Read last activity from the Microsoft 365 groups activity report, for the groups `planned`
/// (their ids). Whether the tenant conceals names in its reports is read first
/// (`admin/reportSettings`): concealed ids cannot be matched, and gwb never presents "no data" as
/// "no activity". Without `ReportSettings.Read.All` it falls back to the rows themselves (none
/// matching a planned group means concealed) and says so; without `Reports.Read.All`, or with
/// names concealed, the review goes on without dates and says why.
pub(crate) async fn last_activity(
    client: &crate::graph::GraphClient,
    planned: &std::collections::HashSet<String>,
) -> LastActivity {
    use crate::graph::reports::{Activity, PERIOD_DAYS, group_activity, names_concealed};
    let none = |status, note: String| LastActivity {
        dates: None,
        status,
        note,
    };
    const CONCEALED: &str = "this tenant conceals user, group and site names in its usage reports, so the Microsoft 365 groups activity report cannot be matched to groups. To use it, turn off \"Display concealed user, group, and site names in all reports\" (Microsoft 365 admin center, Settings, Org settings, Reports) and save the review again";
    let settings = match names_concealed(client).await {
        Ok(Some(true)) => {
            return none(
                "concealed",
                format!(
                    "lastActivityDate is empty (no data, not no activity): {CONCEALED} (admin/reportSettings: displayConcealedNames is true)"
                ),
            );
        }
        Ok(_) => String::new(),
        Err(e) => {
            tracing::info!("cannot read the report settings: {e}");
            let why = if e.is_auth() {
                "it needs ReportSettings.Read.All".to_string()
            } else {
                e.to_string()
            };
            format!(
                "; whether the tenant conceals names in its reports could not be read ({why}), so it was judged from the rows"
            )
        }
    };
    let matches = |id: &str| planned.contains(&id.to_ascii_lowercase());
    match group_activity(client, &matches).await {
        Ok(Activity::Read(dates)) => LastActivity {
            dates: Some(dates),
            status: "read",
            note: format!(
                "lastActivityDate comes from the Microsoft 365 groups activity report over {PERIOD_DAYS} days (mail received, SharePoint files, Yammer, Teams); empty where a group had no activity in that time or is too new to be in the report{settings}"
            ),
        },
        Ok(Activity::Concealed(why)) => none(
            "concealed",
            format!(
                "lastActivityDate is empty (no data, not no activity): {why}: {CONCEALED}{settings}"
            ),
        ),
        Err(e) if e.is_auth() => none(
            "notPermitted",
            format!(
                "lastActivityDate is empty: reading the Microsoft 365 groups activity report needs {}",
                crate::permissions::READ_REPORTS
            ),
        ),
        Err(e) => {
            tracing::info!("cannot read the groups activity report: {e}");
            none(
                "unreadable",
                format!(
                    "lastActivityDate is empty: the Microsoft 365 groups activity report could not be read: {e}"
                ),
            )
        }
    }
}

/// The review entries of `changes`, in their order.
pub(crate) fn entries(
    changes: &[Change],
    signals: &HashMap<String, Signals>,
    counts: &[(Option<u64>, Option<u64>)],
    activity: &LastActivity,
) -> Vec<Entry> {
    let empty = Signals::default();
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let s = signals.get(c.id.as_str()).unwrap_or(&empty);
            let (member_count, owner_count) = counts.get(i).copied().unwrap_or((None, None));
            Entry {
                id: c.id.to_string(),
                decision: "disable".into(),
                mail: s.mail.clone(),
                visibility: s.visibility.clone(),
                is_team: s.is_team,
                created_date_time: s.created.clone(),
                renewed_date_time: s.renewed.clone(),
                expiration_date_time: s.expiration.clone(),
                member_count,
                owner_count,
                last_activity_date: activity.dates.as_ref().and_then(|d| {
                    d.get(&c.id.as_str().to_ascii_lowercase())
                        .cloned()
                        .flatten()
                }),
                note: None,
            }
        })
        .collect()
}

/// Take the changes a JSON plan's review keeps out of `changes`; return them (id, name). A
/// decision other than disable or keep is an error naming the group.
pub(crate) fn apply_decisions(
    path: &Path,
    review: &[Entry],
    changes: &mut Vec<Change>,
) -> Result<Vec<(GroupId, Option<String>)>, UsageError> {
    let mut keep = std::collections::HashSet::new();
    for e in review {
        match e.decision.to_ascii_lowercase().as_str() {
            "disable" => {}
            "keep" => {
                keep.insert(e.id.to_ascii_lowercase());
            }
            other => {
                return Err(UsageError(format!(
                    "--plan {}: decision {other:?} for {}: write disable or keep; nothing was changed",
                    path.display(),
                    e.id
                )));
            }
        }
    }
    let mut kept = Vec::new();
    changes.retain(|c| {
        let k = keep.contains(&c.id.as_str().to_ascii_lowercase());
        if k {
            kept.push((c.id.clone(), c.display_name.clone()));
        }
        !k
    });
    Ok(kept)
}

/// Whose plan: the Graph root and tenant it was made for, when, and its id.
pub(crate) struct Meta<'a> {
    pub graph_root: &'a str,
    pub tenant_id: Option<&'a str>,
    pub created_at: &'a str,
    /// [`LastActivity::status`].
    pub last_activity: &'a str,
    /// What each row's `planRef` is made from ([`plan_ref`]).
    pub plan_id: &'a str,
}

/// Member and owner counts of `changes`' groups (two `$count`s each, in batches): `None`
/// where Graph did not give one.
pub(crate) async fn counts(
    client: &crate::graph::GraphClient,
    changes: &[Change],
) -> anyhow::Result<Vec<(Option<u64>, Option<u64>)>> {
    let keys: Vec<usize> = (0..changes.len() * 2).collect();
    let make = |key: usize| {
        let id = &changes[key / 2].id;
        if key.is_multiple_of(2) {
            crate::graph::groups::member_count(key, id)
        } else {
            crate::graph::groups::owner_count(key, id)
        }
    };
    let mut out = vec![(None, None); changes.len()];
    let bar = crate::output::progress_bar(keys.len() as u64, "counting members and owners");
    let counted = crate::graph::groups::counts(client, keys, make, &bar).await?;
    for (key, n) in counted {
        let slot = &mut out[key / 2];
        if key.is_multiple_of(2) {
            slot.0 = n.ok();
        } else {
            slot.1 = n.ok();
        }
    }
    Ok(out)
}

/// The review file: the header, one row per group and its entry, and the plan's record last.
pub(crate) fn render(meta: &Meta, changes: &[Change], entries: &[Entry]) -> String {
    let mut out = String::new();
    let cell = |s: Option<&str>| csv_field(s.unwrap_or(""));
    out.push_str(HEADER);
    out.push('\n');
    for (c, e) in changes.iter().zip(entries) {
        let fields = [
            cell(Some(&e.decision)),
            cell(Some(c.id.as_str())),
            cell(c.display_name.as_deref()),
            cell(e.mail.as_deref()),
            cell(e.visibility.as_deref()),
            e.is_team.to_string(),
            cell(e.created_date_time.as_deref()),
            cell(e.renewed_date_time.as_deref()),
            cell(e.expiration_date_time.as_deref()),
            e.member_count.map(|n| n.to_string()).unwrap_or_default(),
            e.owner_count.map(|n| n.to_string()).unwrap_or_default(),
            c.before
                .is_enabled
                .map(|b| b.to_string())
                .unwrap_or_default(),
            cell(c.before.on_premises_group_type.as_deref()),
            cell(e.last_activity_date.as_deref()),
            c.role_assignable.to_string(),
            plan_ref(meta.plan_id, &c.id),
            cell(e.note.as_deref()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out.push_str(&format!(
        "{MARK},schemaVersion={SCHEMA_VERSION},{},{},{},{},{}\n",
        csv_field(&format!("graphRoot={}", meta.graph_root)),
        csv_field(&format!("tenantId={}", meta.tenant_id.unwrap_or(""))),
        csv_field(&format!("createdAt={}", meta.created_at)),
        csv_field(&format!("lastActivity={}", meta.last_activity)),
        csv_field(&format!("planId={}", meta.plan_id)),
    ));
    out
}

/// Whether `bytes` are a review plan: not a JSON document (whose names could hold anything),
/// and its own record is somewhere in the file (the first line in files of schema 1, the last in
/// later ones, anywhere after a sort).
pub(crate) fn is_review(bytes: &[u8]) -> bool {
    let json = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        == Some(&b'{');
    !json && bytes.windows(MARK.len()).any(|w| w == MARK.as_bytes())
}

/// A review plan read back: whose it is, the groups to disable, and those the admin kept.
#[derive(Debug)]
pub(crate) struct Reviewed {
    pub graph_root: String,
    pub tenant_id: Option<String>,
    pub created_at: String,
    /// The plan's id (schema 2 on; `None` in files of schema 1).
    pub plan_id: Option<String>,
    pub changes: Vec<Change>,
    /// (id, display name) of each row marked `keep`.
    pub kept: Vec<(GroupId, Option<String>)>,
    /// The line of each group's row, by lowercase id.
    pub lines: HashMap<String, usize>,
    /// The file was not UTF-8 and was read as Windows-1252: its names may differ from Graph's
    /// where a character has no Windows-1252 form ([`name_matches`]).
    pub lossy: bool,
}

/// Whether a review row's `name` still names the group Graph now calls `now`: `Some(true)` or
/// `Some(false)`, or `None` when a lossily decoded file cannot tell (the group's name has
/// characters that Windows-1252 cannot hold, which Excel replaces as it sees fit).
pub(crate) fn name_matches(name: Option<&str>, now: Option<&str>, lossy: bool) -> Option<bool> {
    let (name, now) = (name.unwrap_or(""), now.unwrap_or(""));
    if !lossy {
        return Some(name == now);
    }
    let (saved, exact) = sheet::as_saved(now);
    match (saved == name, exact) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

/// A cell as written, without surrounding blanks or a byte order mark.
fn cell(f: &str) -> &str {
    f.trim().trim_start_matches('\u{feff}')
}

/// The plan's own record, read: whose plan it is and its id.
struct PlanRecord {
    line: usize,
    graph_root: String,
    tenant_id: Option<String>,
    created_at: String,
    plan_id: Option<String>,
}

/// Find and read the plan's own record (`# gwb review plan`), wherever a sort put it: once, of
/// a known schema, naming its Graph root, and (schema 2) its plan id.
fn plan_record(records: &[sheet::Record], bad: &Bad) -> Result<PlanRecord, UsageError> {
    let mut metas = records
        .iter()
        .filter(|(_, r)| r.first().is_some_and(|f| cell(f) == MARK));
    let Some((line, row)) = metas.next() else {
        return Err(bad(
            1,
            format!(
                "no {MARK:?} row: this is not a review saved by gwb disable-existing-m365 --plan-out, or its last row was deleted"
            ),
        ));
    };
    if let Some((other, _)) = metas.next() {
        return Err(bad(
            *other,
            format!(
                "a second {MARK:?} row (the first is on line {line}): two reviews were joined into one file; apply each on its own"
            ),
        ));
    }
    let meta: HashMap<&str, &str> = row[1..]
        .iter()
        .filter_map(|f| f.trim().split_once('='))
        .collect();
    let at = |what: String| bad(*line, what);
    let schema = meta.get("schemaVersion").copied();
    if !matches!(schema, Some("1" | "2")) {
        return Err(at(format!(
            "a review plan of schema 1 or {SCHEMA_VERSION} is expected, not {:?}",
            schema.unwrap_or("(none)")
        )));
    }
    let graph_root = meta
        .get("graphRoot")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| at("the plan does not say its Graph root (graphRoot=)".into()))?
        .to_string();
    let plan_id = meta
        .get("planId")
        .filter(|p| !p.is_empty())
        .map(|p| p.to_string());
    if schema == Some("2") && plan_id.is_none() {
        return Err(at(
            "the plan's record has no planId=: without it no row can be checked against the plan; save the review again with --plan-out".into(),
        ));
    }
    Ok(PlanRecord {
        line: *line,
        graph_root,
        tenant_id: meta
            .get("tenantId")
            .filter(|t| !t.is_empty())
            .map(|t| t.to_string()),
        created_at: meta.get("createdAt").copied().unwrap_or("").to_string(),
        plan_id,
    })
}

/// Where a review's columns are, found by name in its header row.
struct Columns {
    decision: usize,
    id: usize,
    name: usize,
    enabled: usize,
    kind: usize,
    /// Optional: files saved before it was added have no such column.
    role_assignable: Option<usize>,
    /// Schema 2 only.
    plan_ref: Option<usize>,
}

impl Columns {
    fn of(header: &[String], line: usize, with_ref: bool, bad: &Bad) -> Result<Self, UsageError> {
        let find = |name: &str| header.iter().position(|h| cell(h) == name);
        let col = |name: &str| find(name).ok_or_else(|| bad(line, format!("no {name} column")));
        Ok(Columns {
            decision: col("decision")?,
            id: col("id")?,
            name: col("displayName")?,
            enabled: col("isEnabled")?,
            kind: col("onPremisesGroupType")?,
            role_assignable: find("roleAssignable"),
            plan_ref: if with_ref {
                Some(col("planRef")?)
            } else {
                None
            },
        })
    }
}

/// How an error names the line it is on.
type Bad<'a> = dyn Fn(usize, String) -> UsageError + 'a;

/// Read an edited review file as a spreadsheet saved it (see `sheet`). Every row must name a
/// group of the plan the file was saved from (its `planRef`), once, and say `disable` or
/// `keep`; anything else is an error naming the line, and nothing is changed.
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Reviewed, UsageError> {
    let bad = |line: usize, what: String| {
        UsageError(format!(
            "--plan {}: line {line}: {what}; nothing was changed",
            path.display()
        ))
    };
    let text = sheet::decode(bytes);
    if text.lossy {
        tracing::warn!(
            "--plan {}: the file is not UTF-8; read as Windows-1252 (how Excel on Windows saves CSV). Group ids are exact; names with characters Windows-1252 cannot hold are compared loosely",
            path.display()
        );
    }
    let delimiter = sheet::delimiter(&text.text);
    if delimiter != b',' {
        tracing::info!(
            "--plan {}: cells are separated by {}",
            path.display(),
            sheet::delimiter_name(delimiter)
        );
    }
    let records = sheet::records(&text.text, delimiter)
        .map_err(|(line, e)| bad(line, format!("not readable as CSV ({e})")))?;
    let plan = plan_record(&records, &bad)?;
    // The header, found by its column names.
    let data: Vec<&sheet::Record> = records
        .iter()
        .filter(|(l, r)| *l != plan.line && r.iter().any(|f| !f.trim().is_empty()))
        .collect();
    let is_header =
        |r: &[String]| r.iter().any(|f| cell(f) == "decision") && r.iter().any(|f| cell(f) == "id");
    let Some(hpos) = data.iter().position(|(_, r)| is_header(r)) else {
        return Err(bad(
            1,
            "no header row (a row with the column names decision, id, displayName, ...): restore it from the file gwb saved".into(),
        ));
    };
    let hline = data[hpos].0;
    if hpos != 0 {
        crate::output::notice(&format!(
            "--plan {}: the header row is on line {hline}, not first (the file was sorted?); its rows are read by their column names",
            path.display()
        ));
    }
    let cols = Columns::of(&data[hpos].1, hline, plan.plan_id.is_some(), &bad)?;
    if plan.plan_id.is_none() {
        tracing::warn!(
            "--plan {}: a review of schema 1, saved before rows carried a planRef: its rows cannot be checked against the plan; each group is still read again and changed only if it is a cloud Microsoft 365 group as planned",
            path.display()
        );
    }
    let mut reviewed = Reviewed {
        graph_root: plan.graph_root,
        tenant_id: plan.tenant_id,
        created_at: plan.created_at,
        plan_id: plan.plan_id,
        changes: Vec::new(),
        kept: Vec::new(),
        lines: HashMap::new(),
        lossy: text.lossy,
    };
    for (i, (line, row)) in data.iter().enumerate() {
        if i != hpos {
            reviewed.add(*line, row, &cols, &bad)?;
        }
    }
    Ok(reviewed)
}

impl Reviewed {
    /// One row: a group of the plan (its `planRef`), named once, to disable or keep.
    fn add(
        &mut self,
        line: usize,
        row: &[String],
        cols: &Columns,
        bad: &Bad,
    ) -> Result<(), UsageError> {
        let get = |i: usize| row.get(i).map(|s| s.trim()).unwrap_or("");
        let Some(group) = GroupId::parse(get(cols.id)) else {
            return Err(bad(line, format!("{:?} is not a group id", get(cols.id))));
        };
        if let Some(first) = self.lines.insert(group.as_str().to_ascii_lowercase(), line) {
            return Err(bad(
                line,
                format!(
                    "group {group} is in line {first} and again in line {line}: one group, one row; delete one of them (if two reviews were joined, apply each on its own)"
                ),
            ));
        }
        if let (Some(plan_id), Some(r)) = (&self.plan_id, cols.plan_ref)
            && !get(r).eq_ignore_ascii_case(&plan_ref(plan_id, &group))
        {
            return Err(bad(
                line,
                format!(
                    "group {group} was not in the plan this review was saved from (its planRef {:?} does not match): a review can only narrow its plan. Delete the row, or plan again with --plan-out to include the group",
                    get(r)
                ),
            ));
        }
        let display =
            Some(get(cols.name).trim_start_matches('\'').to_string()).filter(|s| !s.is_empty());
        match get(cols.decision).to_ascii_lowercase().as_str() {
            "disable" => {}
            "keep" => {
                self.kept.push((group, display));
                return Ok(());
            }
            other => {
                return Err(bad(
                    line,
                    format!("decision {other:?} for {group}: write disable or keep"),
                ));
            }
        }
        let is_enabled = match get(cols.enabled).to_ascii_lowercase().as_str() {
            "" => None,
            "true" => Some(true),
            other => {
                return Err(bad(
                    line,
                    format!(
                        "isEnabled {other:?} for {group}: a group to disable is written back (true or empty); the file was edited"
                    ),
                ));
            }
        };
        let kind = Some(get(cols.kind).to_string()).filter(|s| !s.is_empty());
        let before = WritebackConfiguration {
            is_enabled,
            on_premises_group_type: kind.map(Into::into),
        };
        let after = WritebackConfiguration {
            is_enabled: Some(false),
            on_premises_group_type: before.on_premises_group_type.clone(),
        };
        self.changes.push(Change {
            id: group,
            display_name: display,
            before,
            after,
            // Kept so a 403 names the permission, and the plan counts them; a cleared or
            // edited cell only loses that hint, never a protection (each group is read again).
            role_assignable: cols
                .role_assignable
                .is_some_and(|i| get(i).eq_ignore_ascii_case("true")),
        });
        Ok(())
    }
}

/// A `[[policy.exception]]` per kept group, for `gwb check` to accept them: printed for the
/// admin to paste into the config file.
pub(crate) fn exception_snippet(kept: &[(GroupId, Option<String>)], file: &Path) -> String {
    let mut s = format!(
        "# {} kept on review ({}): add to the config file so gwb check accepts them\n",
        crate::output::table::groups(kept.len() as u64),
        file.display()
    );
    for (id, name) in kept {
        s.push_str(&format!(
            "[[policy.exception]]\nid = \"{id}\"\nreason = \"kept in AD on review{}\"\n# owner = \"...\"\n# expires = \"YYYY-MM-DD\"\n",
            name.as_deref()
                .map(|n| format!(": {}", n.replace(['"', '\\'], "").replace(char::is_control, " ")))
                .unwrap_or_default()
        ));
    }
    s
}

/// Write the review file (a new file; `force` replaces one atomically).
pub(crate) fn save(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if crate::output::csv_bom() {
        bytes.write_all("\u{feff}".as_bytes())?;
    }
    bytes.write_all(text.as_bytes())?;
    crate::files::write_new(path, &bytes, force).map_err(|e| {
        UsageError(format!(
            "--plan-out {}: {e}; nothing was saved (add --force to replace a file)",
            path.display()
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, name: &str, enabled: Option<bool>) -> Change {
        let before = WritebackConfiguration {
            is_enabled: enabled,
            on_premises_group_type: None,
        };
        Change {
            id: id.into(),
            display_name: Some(name.into()),
            after: WritebackConfiguration {
                is_enabled: Some(false),
                on_premises_group_type: None,
            },
            before,
            role_assignable: false,
        }
    }

    const A: &str = "11111111-1111-4111-8111-111111111111";
    const B: &str = "22222222-2222-4222-8222-222222222222";

    fn meta() -> Meta<'static> {
        Meta {
            graph_root: "https://graph.microsoft.com",
            tenant_id: Some("t-1"),
            created_at: "2026-11-29T00:00:00Z",
            last_activity: "read",
            plan_id: "p-1",
        }
    }

    fn saved(changes: &[Change]) -> String {
        let none = LastActivity {
            dates: None,
            status: "notPermitted",
            note: String::new(),
        };
        let e = entries(changes, &HashMap::new(), &[], &none);
        render(&meta(), changes, &e)
    }

    #[test]
    fn a_review_file_round_trips_through_an_edit() {
        let mut changes = [
            change(A, "Sales, \"All\"\nStaff", None),
            change(B, "=HYPERLINK(1)", Some(true)),
        ];
        changes[0].role_assignable = true;
        let activity = LastActivity {
            dates: Some(HashMap::from([(
                A.to_string(),
                Some("2026-10-01".to_string()),
            )])),
            status: "read",
            note: String::new(),
        };
        let e = entries(
            &changes,
            &HashMap::new(),
            &[(Some(3), Some(1)), (None, None)],
            &activity,
        );
        assert_eq!(e[0].last_activity_date.as_deref(), Some("2026-10-01"));
        assert_eq!(e[1].last_activity_date, None);
        let text = render(&meta(), &changes, &e);
        assert!(
            text.starts_with("decision,id,"),
            "the header is the first line"
        );
        assert!(
            text.trim_end().lines().last().unwrap().starts_with(MARK),
            "{text}"
        );
        assert!(is_review(text.as_bytes()));
        assert!(!is_review(format!("{{\"name\": \"{MARK}\"}}").as_bytes()));
        let edited = text.replacen(&format!("disable,{B}"), &format!("Keep,{B}"), 1);
        let r = read(Path::new("r.csv"), edited.as_bytes()).unwrap();
        assert_eq!(r.graph_root, "https://graph.microsoft.com");
        assert_eq!(r.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(r.plan_id.as_deref(), Some("p-1"));
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].id, A);
        assert_eq!(
            r.changes[0].display_name.as_deref(),
            Some("Sales, \"All\"\nStaff")
        );
        assert_eq!(r.changes[0].before, changes[0].before);
        assert!(r.changes[0].role_assignable, "the flag survives the file");
        assert_eq!(r.kept, vec![(B.into(), Some("=HYPERLINK(1)".to_string()))]);
        assert_eq!(
            r.lines[&B.to_string()],
            4,
            "the quoted newline makes A's row two lines"
        );
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let text = saved(&[change(A, "a", None), change(B, "b", None)]);
        let e = read(
            Path::new("r.csv"),
            text.replacen("disable", "maybe", 2)
                .replacen("maybe", "disable", 1)
                .as_bytes(),
        )
        .unwrap_err()
        .0;
        assert!(e.contains("line 3") && e.contains("maybe"), "{e}");
        let e = read(Path::new("r.csv"), text.replace(B, "x/../y").as_bytes())
            .unwrap_err()
            .0;
        assert!(e.contains("not a group id"), "{e}");
    }

    #[test]
    fn a_row_the_plan_did_not_have_is_refused_even_with_a_real_group_id() {
        let text = saved(&[change(A, "a", None)]);
        // A row pasted from another review (another plan's planRef), or typed in.
        let other = render(
            &Meta {
                plan_id: "p-2",
                ..meta()
            },
            &[change(B, "b", None)],
            &entries(
                &[change(B, "b", None)],
                &HashMap::new(),
                &[],
                &LastActivity {
                    dates: None,
                    status: "read",
                    note: String::new(),
                },
            ),
        );
        let pasted = other.lines().nth(1).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(2, pasted);
        let e = read(Path::new("r.csv"), lines.join("\n").as_bytes())
            .unwrap_err()
            .0;
        assert!(
            e.contains("line 3") && e.contains("not in the plan") && e.contains(B),
            "{e}"
        );
        let typed = format!("{}\ndisable,{B},b", text);
        assert!(read(Path::new("r.csv"), typed.as_bytes()).is_err());
    }

    #[test]
    fn one_group_in_two_rows_is_refused_naming_both_lines() {
        let text = saved(&[change(A, "a", None), change(B, "b", None)]);
        let row = text.lines().nth(1).unwrap().replacen("disable", "keep", 1);
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.push(row);
        let e = read(Path::new("r.csv"), lines.join("\n").as_bytes())
            .unwrap_err()
            .0;
        assert!(
            e.contains("line 2") && e.contains("line 5") && e.contains(A),
            "{e}"
        );
    }

    #[test]
    fn a_review_of_schema_1_still_reads() {
        let text = format!(
            "{MARK},schemaVersion=1,graphRoot=https://g,tenantId=,createdAt=x\ndecision,id,displayName,isEnabled,onPremisesGroupType\ndisable,{A},a,,\nkeep,{B},b,true,\n"
        );
        let r = read(Path::new("r.csv"), text.as_bytes()).unwrap();
        assert_eq!((r.changes.len(), r.kept.len(), r.plan_id), (1, 1, None));
    }

    #[test]
    fn names_compare_exactly_or_as_a_windows_1252_file_holds_them() {
        assert_eq!(
            name_matches(Some("Équipe"), Some("Équipe"), false),
            Some(true)
        );
        assert_eq!(
            name_matches(Some("Sales"), Some("Finance"), false),
            Some(false)
        );
        assert_eq!(
            name_matches(Some("?? office"), Some("東京 office"), true),
            Some(true)
        );
        assert_eq!(
            name_matches(Some("Zurich"), Some("Zürich"), true),
            Some(false)
        );
        // Excel's "best fit" may write L for Ł: a lossy file cannot tell.
        assert_eq!(name_matches(Some("Lodz"), Some("Łódź"), true), None);
    }

    #[test]
    fn the_snippet_is_valid_toml_for_the_exceptions() {
        let s = exception_snippet(
            &[(A.into(), Some("HR \"core\"".into()))],
            Path::new("r.csv"),
        );
        let v: toml::Value = toml::from_str(&s).unwrap();
        assert_eq!(v["policy"]["exception"][0]["id"].as_str(), Some(A));
    }

    #[test]
    fn a_json_review_keeps_the_groups_marked_keep() {
        let mut changes = vec![change(A, "a", None), change(B, "b", Some(true))];
        let none = LastActivity {
            dates: None,
            status: "notPermitted",
            note: String::new(),
        };
        let mut review = entries(&changes, &HashMap::new(), &[], &none);
        review[1].decision = "keep".into();
        let kept = apply_decisions(Path::new("p.json"), &review, &mut changes).unwrap();
        assert_eq!(kept, vec![(B.into(), Some("b".to_string()))]);
        assert_eq!(changes.len(), 1);
        review[0].decision = "later".into();
        assert!(apply_decisions(Path::new("p.json"), &review, &mut changes).is_err());
    }
}
