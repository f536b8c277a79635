//! The review workflow of `disable-existing-m365` (issue 20): Microsoft advises reviewing the
//! written-back groups and disabling only those AD no longer needs. `--plan-out review.csv`
//! writes the plan as a spreadsheet, one row per group with what an admin decides by (mail
//! address, visibility, Team or not, created, renewed and expiry dates, member and owner
//! counts) and a `decision` column, `disable` by default, that the admin edits to `keep`.
//! `--plan review.csv` applies the edited file with every protection of a saved plan: the
//! same tenant and Graph root, each group read again and changed only while it is as planned.
//!
//! The first record names the plan (`# gwb review plan`, its schema, Graph root, tenant and
//! time) in cells of their own, so a spreadsheet keeps it when the file is saved again.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use crate::error::UsageError;
use crate::graph::model::{GroupId, ReviewedGroup, WritebackConfiguration, is_guid};
use crate::output::csv_field;
use crate::writeback::plan::Change;

/// The first cell of a review plan.
pub(crate) const MARK: &str = "# gwb review plan";
const SCHEMA_VERSION: u32 = 1;
/// Columns are found by name when the file is read back, so a column added later goes at the
/// end and files saved before it still read.
const HEADER: &str = "decision,id,displayName,mail,visibility,isTeam,createdDateTime,renewedDateTime,expirationDateTime,memberCount,ownerCount,isEnabled,onPremisesGroupType,lastActivityDate,roleAssignable";

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

/// One group of a review: what an admin decides by, and the decision (`disable` until the
/// admin writes `keep`). The JSON plan carries these as `review`; the CSV as its rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub id: String,
    pub decision: String,
    pub mail: Option<String>,
    pub visibility: Option<String>,
    pub is_team: bool,
    pub created_date_time: Option<String>,
    pub renewed_date_time: Option<String>,
    pub expiration_date_time: Option<String>,
    pub member_count: Option<u64>,
    pub owner_count: Option<u64>,
    /// From the Microsoft 365 groups activity report (see [`LastActivity`]); null when the
    /// group had none in its period, or the report was not available.
    #[serde(default)]
    pub last_activity_date: Option<String>,
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

/// Read last activity from the Microsoft 365 groups activity report. Without
/// `Reports.Read.All`, or with names concealed in the tenant's reports, the review goes on
/// without it and says why.
pub(crate) async fn last_activity(client: &crate::graph::GraphClient) -> LastActivity {
    use crate::graph::reports::{Activity, PERIOD_DAYS, group_activity};
    let none = |status, note: String| LastActivity {
        dates: None,
        status,
        note,
    };
    match group_activity(client).await {
        Ok(Activity::Read(dates)) => LastActivity {
            dates: Some(dates),
            status: "read",
            note: format!(
                "lastActivityDate comes from the Microsoft 365 groups activity report over {PERIOD_DAYS} days (mail received, SharePoint files, Yammer, Teams); empty where a group had no activity in that time or is too new to be in the report"
            ),
        },
        Ok(Activity::Concealed) => none(
            "concealed",
            "lastActivityDate is empty: this tenant conceals user, group and site names in its usage reports, so the Microsoft 365 groups activity report cannot be matched to groups. To use it, turn off \"Display concealed user, group, and site names in all reports\" (Microsoft 365 admin center, Settings, Org settings, Reports) and save the review again".into(),
        ),
        Err(e) if e.is_auth() => none(
            "notPermitted",
            "lastActivityDate is empty: reading the Microsoft 365 groups activity report needs Reports.Read.All".into(),
        ),
        Err(e) => {
            tracing::info!("cannot read the groups activity report: {e}");
            none(
                "unreadable",
                format!("lastActivityDate is empty: the Microsoft 365 groups activity report could not be read: {e}"),
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
            let s = signals.get(&c.id).unwrap_or(&empty);
            let (member_count, owner_count) = counts.get(i).copied().unwrap_or((None, None));
            Entry {
                id: c.id.clone(),
                decision: "disable".into(),
                mail: s.mail.clone(),
                visibility: s.visibility.clone(),
                is_team: s.is_team,
                created_date_time: s.created.clone(),
                renewed_date_time: s.renewed.clone(),
                expiration_date_time: s.expiration.clone(),
                member_count,
                owner_count,
                last_activity_date: activity
                    .dates
                    .as_ref()
                    .and_then(|d| d.get(&c.id.to_ascii_lowercase()).cloned().flatten()),
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
) -> Result<Vec<(String, Option<String>)>, UsageError> {
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
        let k = keep.contains(&c.id.to_ascii_lowercase());
        if k {
            kept.push((c.id.clone(), c.display_name.clone()));
        }
        !k
    });
    Ok(kept)
}

/// Whose plan: the Graph root and tenant it was made for, and when.
pub(crate) struct Meta<'a> {
    pub graph_root: &'a str,
    pub tenant_id: Option<&'a str>,
    pub created_at: &'a str,
    /// [`LastActivity::status`].
    pub last_activity: &'a str,
}

/// Member and owner counts of `changes`' groups (two `$count`s each, in batches): `None`
/// where Graph did not give one.
pub(crate) async fn counts(
    client: &crate::graph::GraphClient,
    changes: &[Change],
) -> anyhow::Result<Vec<(Option<u64>, Option<u64>)>> {
    let ids: Vec<Option<GroupId>> = changes.iter().map(|c| GroupId::parse(&c.id)).collect();
    let keys: Vec<usize> = (0..changes.len() * 2)
        .filter(|k| ids[k / 2].is_some())
        .collect();
    let make = |key: usize| {
        let id = ids[key / 2].as_ref().expect("only parsed ids are keys");
        if key.is_multiple_of(2) {
            crate::graph::groups::member_count(key, id)
        } else {
            crate::graph::groups::owner_count(key, id)
        }
    };
    let mut out = vec![(None, None); changes.len()];
    let counted =
        crate::graph::groups::counts(client, keys, make, "counting members and owners").await?;
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

/// The review file: the plan's record, the header, one row per change and its entry.
pub(crate) fn render(meta: &Meta, changes: &[Change], entries: &[Entry]) -> String {
    let mut out = String::new();
    let cell = |s: Option<&str>| csv_field(s.unwrap_or(""));
    out.push_str(&format!(
        "{MARK},schemaVersion={SCHEMA_VERSION},{},{},{},{}\n",
        csv_field(&format!("graphRoot={}", meta.graph_root)),
        csv_field(&format!("tenantId={}", meta.tenant_id.unwrap_or(""))),
        csv_field(&format!("createdAt={}", meta.created_at)),
        csv_field(&format!("lastActivity={}", meta.last_activity))
    ));
    out.push_str(HEADER);
    out.push('\n');
    for (c, e) in changes.iter().zip(entries) {
        let fields = [
            cell(Some(&e.decision)),
            cell(Some(&c.id)),
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
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Whether `text` is a review plan (a spreadsheet may have added a byte order mark).
pub(crate) fn is_review(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').starts_with(MARK)
        || text
            .trim_start_matches('\u{feff}')
            .starts_with(&format!("\"{MARK}\""))
}

/// A review plan read back: whose it is, the groups to disable, and those the admin kept.
#[derive(Debug)]
pub(crate) struct Reviewed {
    pub graph_root: String,
    pub tenant_id: Option<String>,
    pub created_at: String,
    pub changes: Vec<Change>,
    /// (id, display name) of each row marked `keep`.
    pub kept: Vec<(String, Option<String>)>,
}

/// Read an edited review file. Every row must say `disable` or `keep` and name a group by its
/// id; anything else is an error naming the line, and nothing is changed.
pub(crate) fn read(path: &Path, text: &str) -> Result<Reviewed, UsageError> {
    let bad = |line: usize, what: String| {
        UsageError(format!(
            "--plan {}: line {line}: {what}; nothing was changed",
            path.display()
        ))
    };
    let mut records = records(text.trim_start_matches('\u{feff}'));
    let (line, first) = records
        .next()
        .ok_or_else(|| bad(1, "the file is empty".into()))?;
    if first.first().map(String::as_str) != Some(MARK) {
        return Err(bad(line, format!("the first cell is not {MARK:?}")));
    }
    let meta: HashMap<&str, &str> = first[1..]
        .iter()
        .filter_map(|f| f.split_once('='))
        .collect();
    if meta.get("schemaVersion") != Some(&"1") {
        return Err(bad(
            line,
            format!("a review plan of schema {SCHEMA_VERSION} is expected"),
        ));
    }
    let graph_root = meta
        .get("graphRoot")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            bad(
                line,
                "the plan does not say its Graph root (graphRoot=)".into(),
            )
        })?
        .to_string();
    let tenant_id = meta
        .get("tenantId")
        .filter(|t| !t.is_empty())
        .map(|t| t.to_string());
    let created_at = meta.get("createdAt").copied().unwrap_or("").to_string();
    let (hline, header) = records
        .next()
        .ok_or_else(|| bad(2, "no header row".into()))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| bad(hline, format!("no {name} column")))
    };
    let (decision, id, name, enabled, kind) = (
        col("decision")?,
        col("id")?,
        col("displayName")?,
        col("isEnabled")?,
        col("onPremisesGroupType")?,
    );
    // Optional: files saved before it was added have no such column.
    let role_assignable = header.iter().position(|h| h.trim() == "roleAssignable");
    let mut reviewed = Reviewed {
        graph_root,
        tenant_id,
        created_at,
        changes: Vec::new(),
        kept: Vec::new(),
    };
    for (line, row) in records {
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: usize| row.get(i).map(|s| s.trim()).unwrap_or("");
        let group = get(id).to_string();
        if !is_guid(&group) {
            return Err(bad(line, format!("{group:?} is not a group id")));
        }
        let display =
            Some(get(name).trim_start_matches('\'').to_string()).filter(|s| !s.is_empty());
        match get(decision).to_ascii_lowercase().as_str() {
            "disable" => {}
            "keep" => {
                reviewed.kept.push((group, display));
                continue;
            }
            other => {
                return Err(bad(
                    line,
                    format!("decision {other:?} for {group}: write disable or keep"),
                ));
            }
        }
        let is_enabled = match get(enabled) {
            "" => None,
            "true" | "TRUE" | "True" => Some(true),
            other => {
                return Err(bad(
                    line,
                    format!(
                        "isEnabled {other:?} for {group}: a group to disable is written back (true or empty); the file was edited"
                    ),
                ));
            }
        };
        let kind = Some(get(kind).to_string()).filter(|s| !s.is_empty());
        let before = WritebackConfiguration {
            is_enabled,
            on_premises_group_type: kind.map(Into::into),
        };
        let after = WritebackConfiguration {
            is_enabled: Some(false),
            on_premises_group_type: before.on_premises_group_type.clone(),
        };
        reviewed.changes.push(Change {
            id: group,
            display_name: display,
            before,
            after,
            // Kept so a 403 names the permission, and the plan counts them; a cleared or
            // edited cell only loses that hint, never a protection (each group is read again).
            role_assignable: role_assignable.is_some_and(|i| get(i).eq_ignore_ascii_case("true")),
        });
    }
    Ok(reviewed)
}

/// CSV records with their line numbers: fields split at commas outside quotes, `""` inside
/// quotes a quote, records at line ends outside quotes.
fn records(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    let mut chars = text.chars().peekable();
    let mut line = 1;
    std::iter::from_fn(move || {
        chars.peek()?;
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                '\n' if !quoted => {
                    line += 1;
                    break;
                }
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        fields.push(field);
        Some((start, fields))
    })
}

/// A `[[policy.exception]]` per kept group, for `gwb check` to accept them: printed for the
/// admin to paste into the config file.
pub(crate) fn exception_snippet(kept: &[(String, Option<String>)], file: &Path) -> String {
    let mut s = format!(
        "# {} groups kept on review ({}): add to the config file so gwb check accepts them\n",
        kept.len(),
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

    #[test]
    fn a_review_file_round_trips_through_an_edit() {
        let meta = Meta {
            graph_root: "https://graph.microsoft.com",
            tenant_id: Some("t-1"),
            created_at: "2026-11-29T00:00:00Z",
            last_activity: "read",
        };
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
        let text = render(&meta, &changes, &e);
        assert!(is_review(&text));
        let edited = text.replacen(&format!("disable,{B}"), &format!("Keep,{B}"), 1);
        let r = read(Path::new("r.csv"), &edited).unwrap();
        assert_eq!(r.graph_root, "https://graph.microsoft.com");
        assert_eq!(r.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.changes[0].id, A);
        assert_eq!(
            r.changes[0].display_name.as_deref(),
            Some("Sales, \"All\"\nStaff")
        );
        assert_eq!(r.changes[0].before, changes[0].before);
        assert!(r.changes[0].role_assignable, "the flag survives the file");
        assert_eq!(
            r.kept,
            vec![(B.to_string(), Some("=HYPERLINK(1)".to_string()))]
        );
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let text = format!(
            "{MARK},schemaVersion=1,graphRoot=https://g,tenantId=,createdAt=x\n{HEADER}\ndisable,{A},a,,,false,,,,,,,\nmaybe,{B},b,,,false,,,,,,,\n"
        );
        let e = read(Path::new("r.csv"), &text).unwrap_err().0;
        assert!(e.contains("line 4") && e.contains("maybe"), "{e}");
        let text = text.replace("maybe", "disable").replace(
            &format!(",{B},b,,,false,,,,,,,"),
            ",x/../y,b,,,false,,,,,,,",
        );
        let e = read(Path::new("r.csv"), &text).unwrap_err().0;
        assert!(e.contains("not a group id"), "{e}");
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
        assert_eq!(kept, vec![(B.to_string(), Some("b".to_string()))]);
        assert_eq!(changes.len(), 1);
        review[0].decision = "later".into();
        assert!(apply_decisions(Path::new("p.json"), &review, &mut changes).is_err());
    }
}
