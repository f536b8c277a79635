//! The emulator's Graph beta surface: one dispatch function over plain request/response values,
//! used by the HTTP server and, for each item, by `$batch`.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::tenant::{DEFAULT_PROPERTIES, EmuGroup, GROUP_PROPERTIES, group_unified_template};
use super::{Fault, Shared};
use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingValue, UNIVERSAL_DISTRIBUTION,
    UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY,
};

/// A request as the dispatcher sees it. `path` is relative to `/beta/`, without a leading slash.
pub(crate) struct EmuRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Lowercase names.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl EmuRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EmuBody {
    Empty,
    Json(Value),
    /// JSON already serialised.
    RawJson(Vec<u8>),
    Text(String),
}

#[derive(Debug, Clone)]
pub(crate) struct EmuResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: EmuBody,
}

impl EmuResponse {
    fn json(status: u16, v: Value) -> Self {
        EmuResponse {
            status,
            headers: Vec::new(),
            body: EmuBody::Json(v),
        }
    }
    fn no_content() -> Self {
        EmuResponse {
            status: 204,
            headers: Vec::new(),
            body: EmuBody::Empty,
        }
    }
}

/// Graph's error body and `request-id` header.
pub(crate) fn graph_error(shared: &Shared, status: u16, code: &str, message: &str) -> EmuResponse {
    let rid = shared.next_request_id();
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    EmuResponse {
        status,
        headers: vec![("request-id".into(), rid.clone())],
        body: EmuBody::Json(json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": date, "request-id": rid, "client-request-id": rid}
            }
        })),
    }
}

fn bad_request(shared: &Shared, message: &str) -> EmuResponse {
    graph_error(shared, 400, "Request_BadRequest", message)
}

fn query_params(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| {
            k.eq_ignore_ascii_case(name)
                || k.trim_start_matches('$')
                    .eq_ignore_ascii_case(name.trim_start_matches('$'))
        })
        .map(|(_, v)| v.as_str())
}

/// The emulated tenant's id, as `GET /organization` gives it.
pub(crate) const EMULATED_TENANT_ID: &str = "c0a7e5f0-1d2b-4c3d-9e4f-00000000c0de";

// Long on purpose: the route table, one arm per endpoint the emulator serves.
pub(crate) fn dispatch(shared: &Shared, req: &EmuRequest) -> EmuResponse {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').collect();
    match (req.method, segments.as_slice()) {
        ("GET", ["groups"]) => {
            shared.count("list_groups");
            list_groups(shared, req)
        }
        ("GET", ["groups", id]) => {
            shared.count("get_group");
            get_group(shared, req, id)
        }
        ("PATCH", ["groups", id]) => patch_group(shared, req, id),
        ("GET", ["groups", id, "members", "$count"]) => {
            shared.count("member_count");
            member_count(shared, req, id)
        }
        ("GET", ["groups", id, "owners", "$count"]) => {
            shared.count("owner_count");
            owner_count(shared, req, id)
        }
        // Beta: a group's source of authority (`isCloudManaged`). The reference lists only
        // Group-OnPremisesSyncBehavior.ReadWrite.All for reading it.
        ("GET", ["groups", id, "onPremisesSyncBehavior"]) => {
            shared.count("sync_behavior");
            if shared.cfg.sync_behavior_forbidden {
                return forbidden(shared);
            }
            match shared.tenant().group(id) {
                Some(g) => EmuResponse::json(
                    200,
                    json!({
                        "@odata.context": format!("https://graph.microsoft.com/beta/$metadata#groups('{}')/onPremisesSyncBehavior/$entity", g.id),
                        "@odata.type": "#microsoft.graph.onPremisesSyncBehavior",
                        "id": g.id,
                        "isCloudManaged": g.cloud_managed.unwrap_or(false),
                    }),
                ),
                None => not_found(shared, id),
            }
        }
        // Mail for notifications: accepted (202, as Graph answers sendMail) and counted.
        ("POST", ["users", _, "sendMail"]) => {
            shared.count("send_mail");
            EmuResponse::json(202, json!({}))
        }
        ("GET", ["organization"]) => {
            shared.count("organization");
            EmuResponse::json(
                200,
                json!({"value": [{
                    "id": EMULATED_TENANT_ID,
                    "displayName": "Contoso (emulated)",
                    "verifiedDomains": [
                        {"name": "contoso.onmicrosoft.com", "isDefault": false, "isInitial": true, "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline"},
                        {"name": "contoso.example", "isDefault": true, "isInitial": false, "type": "Managed", "capabilities": "Email"}
                    ]
                }]}),
            )
        }
        ("GET", ["servicePrincipals"]) => {
            shared.count("service_principals");
            if shared.cfg.cloud_sync_forbidden {
                return forbidden(shared);
            }
            let params = query_params(req.query);
            // An agent made from Cloud Sync's template answers the filter on
            // applicationTemplateId; one whose appId is that id, the filter on appId; one with
            // the id only in servicePrincipalNames, the filter on those (which hold a
            // principal's appId too, so the appId one answers it as well).
            let filter = param(&params, "$filter").unwrap_or("");
            let template = crate::graph::sync::CLOUD_SYNC_APP_TEMPLATE;
            let answers = |a: &crate::emulator::CloudSyncAgent| {
                let made = !a.by_app_id && !a.by_service_principal_names;
                if filter == format!("appId eq '{template}'") {
                    a.by_app_id
                } else if filter == format!("applicationTemplateId eq '{template}'") {
                    made
                } else if filter == format!("servicePrincipalNames/any(x:x eq '{template}')") {
                    a.by_app_id || a.by_service_principal_names
                } else {
                    false
                }
            };
            let value: Vec<Value> = shared
                .cfg
                .cloud_sync
                .iter()
                .filter(|a| answers(a))
                .map(|a| {
                    let made = !a.by_app_id && !a.by_service_principal_names;
                    json!({
                        "id": a.id,
                        "displayName": a.display_name,
                        "appId": if a.by_app_id { template.to_string() } else { a.id.clone() },
                        "applicationTemplateId": if made { Some(template) } else { None },
                        "servicePrincipalNames": if a.by_service_principal_names {
                            vec![template.to_string()]
                        } else {
                            Vec::new()
                        },
                    })
                })
                .collect();
            EmuResponse::json(200, json!({ "value": value }))
        }
        ("GET", ["servicePrincipals", id, "synchronization", "jobs"]) => {
            shared.count("sync_jobs");
            if shared.cfg.cloud_sync_forbidden {
                return forbidden(shared);
            }
            // One job a page, so a client must follow nextLink like any collection's (Graph
            // does not document the jobs list's page size).
            let params = query_params(req.query);
            let from: usize = param(&params, "$skiptoken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            match shared.cfg.cloud_sync.iter().find(|a| a.id == *id) {
                Some(a) => {
                    let mut body =
                        json!({ "value": a.jobs.iter().skip(from).take(1).collect::<Vec<_>>() });
                    if from + 1 < a.jobs.len() {
                        body["@odata.nextLink"] = json!(format!(
                            "{}/beta/servicePrincipals/{id}/synchronization/jobs?$skiptoken={}",
                            shared.base_url(),
                            from + 1
                        ));
                    }
                    EmuResponse::json(200, body)
                }
                None => not_found(shared, id),
            }
        }
        (
            "GET",
            [
                "servicePrincipals",
                id,
                "synchronization",
                "jobs",
                job,
                "schema",
            ],
        ) => {
            shared.count("sync_schemas");
            if shared.cfg.cloud_sync_forbidden {
                return forbidden(shared);
            }
            let agent = shared.cfg.cloud_sync.iter().find(|a| a.id == *id);
            let listed = agent.is_some_and(|a| a.jobs.iter().any(|j| j["id"] == *job));
            match agent {
                Some(a) if listed && a.schemas.get(*job).is_some_and(Value::is_null) => {
                    not_found(shared, job)
                }
                Some(a) if listed => {
                    let schema = a.schemas.get(*job).cloned().unwrap_or_else(|| {
                        json!({
                            "id": job,
                            "version": "1",
                            "directories": [],
                            "synchronizationRules": [{
                                "name": "AAD2ADGroupProvisioning",
                                "sourceDirectoryName": "Azure Active Directory",
                                "targetDirectoryName": "Active Directory",
                                "objectMappings": [{
                                    "enabled": true,
                                    "flowTypes": "Add, Update, Delete",
                                    "name": "Provision Azure Active Directory Groups",
                                    "sourceObjectName": "Group",
                                    "targetObjectName": "group",
                                    "attributeMappings": [],
                                    "scope": null
                                }]
                            }]
                        })
                    });
                    EmuResponse::json(200, schema)
                }
                _ => not_found(shared, job),
            }
        }
        ("GET", ["admin", "reportSettings"]) => {
            shared.count("report_settings");
            if shared.cfg.report_settings_forbidden {
                return forbidden(shared);
            }
            use super::ActivityReport::{Concealed, ConcealedGuidLike};
            let concealed = matches!(shared.cfg.activity_report, Concealed | ConcealedGuidLike);
            EmuResponse::json(
                200,
                json!({
                    "@odata.context": "https://graph.microsoft.com/beta/$metadata#admin/reportSettings/$entity",
                    "displayConcealedNames": concealed
                }),
            )
        }
        ("GET", ["reports", function])
            if function.starts_with("getOffice365GroupsActivityDetail(") =>
        {
            shared.count("activity_report");
            activity_report(shared, req)
        }
        ("GET", ["directory", "onPremisesSynchronization"]) => {
            shared.count("sync_features");
            if !shared.sync_features_readable() {
                return graph_error(
                    shared,
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                );
            }
            EmuResponse::json(
                200,
                json!({"value": [{
                    "id": "55555555-5555-4555-8555-555555555555",
                    "configuration": {"synchronizationInterval": "PT30M"},
                    "features": {
                        "unifiedGroupWritebackEnabled": true,
                        "groupWriteBackEnabled": shared.cfg.group_writeback_v2,
                        "passwordSyncEnabled": true
                    }
                }]}),
            )
        }
        ("GET", ["settings"]) => {
            shared.count("list_settings");
            let t = shared.tenant();
            EmuResponse::json(
                200,
                json!({
                    "@odata.context": format!("{}/beta/$metadata#settings", shared.base_url()),
                    "value": t.settings,
                }),
            )
        }
        ("GET", ["settings", id]) => {
            let t = shared.tenant();
            match t.settings.iter().find(|s| s.id == *id) {
                Some(s) => EmuResponse::json(200, json!(s)),
                None => not_found(shared, id),
            }
        }
        ("POST", ["settings"]) => create_setting(shared, req),
        ("PATCH", ["settings", id]) => patch_setting(shared, req, id),
        ("DELETE", ["settings", id]) => {
            shared.count("delete_setting");
            let mut t = shared.tenant();
            let before = t.settings.len();
            t.settings.retain(|s| s.id != *id);
            if t.settings.len() == before {
                not_found(shared, id)
            } else {
                EmuResponse::no_content()
            }
        }
        ("GET", ["directorySettingTemplates"]) => {
            shared.count("get_template");
            EmuResponse::json(200, json!({"value": [group_unified_template()]}))
        }
        ("GET", ["directorySettingTemplates", id]) => {
            shared.count("get_template");
            if id.eq_ignore_ascii_case(GROUP_UNIFIED_TEMPLATE_ID) {
                EmuResponse::json(200, json!(group_unified_template()))
            } else {
                not_found(shared, id)
            }
        }
        ("POST", ["$batch"]) => {
            shared.count("batch");
            batch(shared, req)
        }
        _ => bad_request(
            shared,
            &format!(
                "Resource not found for the segment '{}'.",
                segments.first().unwrap_or(&"")
            ),
        ),
    }
}

fn not_found(shared: &Shared, id: &str) -> EmuResponse {
    graph_error(
        shared,
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// Parse `$select`; unknown names are a 400 as in Graph.
fn select<'a>(
    shared: &Shared,
    params: &'a [(String, String)],
) -> Result<Vec<&'a str>, EmuResponse> {
    match param(params, "$select") {
        None => Ok(DEFAULT_PROPERTIES.to_vec()),
        Some(s) => {
            let mut out = Vec::new();
            for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match GROUP_PROPERTIES.iter().find(|k| k.eq_ignore_ascii_case(p)) {
                    Some(k) => out.push(*k),
                    None => {
                        return Err(bad_request(
                            shared,
                            &format!(
                                "Could not find a property named '{p}' on type 'microsoft.graph.group'."
                            ),
                        ));
                    }
                }
            }
            if !out.contains(&"id") {
                out.insert(0, "id");
            }
            Ok(out)
        }
    }
}

#[derive(Clone, Copy)]
enum Filter {
    All,
    Unified,
    NotUnified,
}

fn parse_filter(
    shared: &Shared,
    req: &EmuRequest,
    params: &[(String, String)],
) -> Result<Filter, EmuResponse> {
    let Some(f) = param(params, "$filter") else {
        return Ok(Filter::All);
    };
    let compact: String = f
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if compact.contains("writebackconfiguration") {
        return Err(graph_error(
            shared,
            400,
            "Request_UnsupportedQuery",
            "Unsupported property filter: writebackConfiguration.",
        ));
    }
    match compact.as_str() {
        "grouptypes/any(c:ceq'unified')" => Ok(Filter::Unified),
        "not(grouptypes/any(c:ceq'unified'))" => {
            let eventual = req
                .header("consistencylevel")
                .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
            let count = param(params, "$count").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if eventual && count {
                Ok(Filter::NotUnified)
            } else {
                Err(graph_error(
                    shared,
                    400,
                    "Request_UnsupportedQuery",
                    "Operator 'Not' is not supported because the required parameters might be missing. Try adding $count with a value of true and the ConsistencyLevel header with a value of eventual.",
                ))
            }
        }
        _ => Err(graph_error(
            shared,
            400,
            "Request_UnsupportedQuery",
            &format!("Unsupported or invalid query filter clause specified: {f}"),
        )),
    }
}

const SKIPTOKEN_SALT: u64 = 0x5EED_C0DE_F00D_2345;

fn encode_skiptoken(offset: usize) -> String {
    format!("RFNwdAIAAQAA{:016x}", offset as u64 ^ SKIPTOKEN_SALT)
}

fn decode_skiptoken(token: &str) -> Option<usize> {
    let hex = token.strip_prefix("RFNwdAIAAQAA")?;
    let v = u64::from_str_radix(hex, 16).ok()?;
    usize::try_from(v ^ SKIPTOKEN_SALT).ok()
}

/// Where a group listing request starts (its `$skiptoken`'s offset; 0 for the first page).
pub(crate) fn listing_offset(query: Option<&str>) -> usize {
    let params = query_params(query.unwrap_or(""));
    param(&params, "$skiptoken")
        .and_then(decode_skiptoken)
        .unwrap_or(0)
}

// Long on purpose: paging as Graph does it ($top, $select, skip tokens, injected page faults).
fn list_groups(shared: &Shared, req: &EmuRequest) -> EmuResponse {
    let params = query_params(req.query);
    let select = match select(shared, &params) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let filter = match parse_filter(shared, req, &params) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let top = match param(&params, "$top") {
        None => 100,
        Some(t) => match t.parse::<usize>() {
            Ok(n @ 1..=999) => n,
            _ => {
                return bad_request(
                    shared,
                    &format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                    ),
                );
            }
        },
    };
    let start = match param(&params, "$skiptoken") {
        None => 0,
        Some(tok) => match decode_skiptoken(tok) {
            Some(o) => o,
            None => return bad_request(shared, "Invalid $skiptoken."),
        },
    };
    if param(&params, "$skip").is_some() {
        return graph_error(
            shared,
            400,
            "Request_BadRequest",
            "'$skip' is not supported by the service.",
        );
    }
    let t = shared.tenant();
    // Written directly, in Graph's order (context, nextLink, value): list pages are the hot path.
    let mut out = Vec::with_capacity(top.min(t.groups.len()) * 320 + 512);
    out.extend_from_slice(b"{\"@odata.context\":");
    serde_json::to_writer(
        &mut out,
        &format!("{}/beta/$metadata#groups", shared.base_url()),
    )
    .expect("strings serialise");
    let mut values = Vec::with_capacity(top.min(t.groups.len()) * 320);
    let mut count = 0;
    let mut i = start.min(t.groups.len());
    while i < t.groups.len() && count < top {
        let g = &t.groups[i];
        i += 1;
        let keep = match filter {
            Filter::All => true,
            Filter::Unified => g.is_unified(),
            Filter::NotUnified => !g.is_unified(),
        };
        if keep {
            if count > 0 {
                values.push(b',');
            }
            g.write_json(&select, &mut values);
            count += 1;
        }
    }
    if i < t.groups.len() {
        // Keep every other query parameter, as Graph does, and replace the skiptoken.
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
        {
            ser.append_pair(k, v);
        }
        ser.append_pair("$skiptoken", &encode_skiptoken(i));
        // Graph writes `$skiptoken`, `$select` with a literal `$`.
        let query = ser.finish().replace("%24", "$");
        out.extend_from_slice(b",\"@odata.nextLink\":");
        serde_json::to_writer(
            &mut out,
            &format!("{}/beta/groups?{}", shared.base_url(), query),
        )
        .expect("strings serialise");
    }
    out.extend_from_slice(b",\"value\":[");
    out.extend_from_slice(&values);
    out.extend_from_slice(b"]}");
    EmuResponse {
        status: 200,
        headers: Vec::new(),
        body: EmuBody::RawJson(out),
    }
}

fn get_group(shared: &Shared, req: &EmuRequest, id: &str) -> EmuResponse {
    let params = query_params(req.query);
    let select = match select(shared, &params) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match shared.tenant().group(id) {
        Some(g) => EmuResponse::json(200, g.to_json(&select)),
        None => not_found(shared, id),
    }
}

// Long on purpose: the emulator answers as Graph documents, one branch per answer (validation,
// read-only and role-assignable groups, write quirks, lag), so a test can find the rule it meets.
fn patch_group(shared: &Shared, req: &EmuRequest, id: &str) -> EmuResponse {
    shared.count("patch_group_attempt");
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request(shared, "Invalid request body: expected a JSON object."),
    };
    let mut t = shared.tenant();
    let Some(g) = t.group_mut(id) else {
        return not_found(shared, id);
    };
    if g.on_premises_sync_enabled == Some(true) {
        return bad_request(
            shared,
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        );
    }
    if g.is_assignable_to_role == Some(true) {
        return graph_error(
            shared,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let obj = body.as_object().expect("checked above");
    for key in obj.keys() {
        if key != "writebackConfiguration" {
            return bad_request(
                shared,
                &format!("Property '{key}' is not writable in this emulator."),
            );
        }
    }
    let mut next = g.writeback.clone();
    if let Some(wb) = obj.get("writebackConfiguration") {
        let Some(wb) = wb.as_object() else {
            return bad_request(shared, "writebackConfiguration must be an object.");
        };
        for (k, v) in wb {
            match (k.as_str(), v) {
                ("isEnabled", Value::Bool(b)) => next.is_enabled = Some(*b),
                ("isEnabled", Value::Null) => next.is_enabled = None,
                ("onPremisesGroupType", Value::Null) => next.on_premises_group_type = None,
                ("onPremisesGroupType", Value::String(s)) => {
                    let allowed: &[&str] = if g.is_unified() {
                        &[
                            UNIVERSAL_DISTRIBUTION,
                            UNIVERSAL_SECURITY,
                            UNIVERSAL_MAIL_ENABLED_SECURITY,
                        ]
                    } else {
                        &[UNIVERSAL_SECURITY]
                    };
                    if !allowed.contains(&s.as_str()) {
                        return bad_request(
                            shared,
                            &format!(
                                "Invalid value '{s}' for property 'onPremisesGroupType' on this group."
                            ),
                        );
                    }
                    next.on_premises_group_type = Some(s.as_str().into());
                }
                ("@odata.type", _) => {}
                _ => {
                    return bad_request(
                        shared,
                        &format!("Invalid value for property '{k}' of writebackConfiguration."),
                    );
                }
            }
        }
    }
    if let Err(wait) = shared.admit_write() {
        drop(t);
        shared.count("throttled_writes");
        let retry_after = format!("{:.3}", wait.as_secs_f64().max(0.001));
        return fault_response(shared, Fault::Throttle { retry_after });
    }
    match shared.write_quirk(id) {
        Some(super::WriteQuirk::Ignored) => {
            drop(t);
            shared.count("ignored_write");
            return EmuResponse::no_content();
        }
        Some(super::WriteQuirk::NotFound) => {
            drop(t);
            shared.count("false_not_found");
            return not_found(shared, id);
        }
        None => {}
    }
    let lag = shared.read_lag();
    let lag_reads = shared.read_lag_reads();
    if lag_reads > 0 {
        let visible = g.peek_writeback().clone();
        g.stale = Some((
            visible,
            super::tenant::Lag::Reads(std::cell::Cell::new(lag_reads)),
        ));
    } else if !lag.is_zero() {
        let visible = g.peek_writeback().clone();
        g.stale = Some((
            visible,
            super::tenant::Lag::Until(std::time::Instant::now() + lag),
        ));
    }
    g.writeback = next;
    drop(t);
    shared.count("patch_group");
    EmuResponse::no_content()
}

fn forbidden(shared: &Shared) -> EmuResponse {
    graph_error(
        shared,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

fn member_count(shared: &Shared, req: &EmuRequest, id: &str) -> EmuResponse {
    count_of(shared, req, id, |g| g.member_count)
}

fn owner_count(shared: &Shared, req: &EmuRequest, id: &str) -> EmuResponse {
    count_of(shared, req, id, EmuGroup::owner_count)
}

/// A `$count` of one group's relation: text/plain, and only with `ConsistencyLevel: eventual`.
fn count_of(
    shared: &Shared,
    req: &EmuRequest,
    id: &str,
    count: impl Fn(&EmuGroup) -> u64,
) -> EmuResponse {
    if !req
        .header("consistencylevel")
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    {
        return graph_error(
            shared,
            400,
            "Request_BadRequest",
            "$count is not currently supported without the ConsistencyLevel header set to eventual.",
        );
    }
    match shared.tenant().group(id) {
        Some(g) => EmuResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: EmuBody::Text(count(g).to_string()),
        },
        None => not_found(shared, id),
    }
}

fn parse_values(shared: &Shared, v: Option<&Value>) -> Result<Vec<SettingValue>, EmuResponse> {
    let Some(v) = v else {
        return Err(bad_request(shared, "The 'values' property is required."));
    };
    let values: Vec<SettingValue> = serde_json::from_value(v.clone())
        .map_err(|e| bad_request(shared, &format!("Invalid 'values': {e}")))?;
    let template = group_unified_template();
    let mut seen = HashSet::new();
    for sv in &values {
        if !template.values.iter().any(|t| t.name == sv.name) {
            return Err(bad_request(
                shared,
                &format!(
                    "Invalid setting name '{}' for template Group.Unified.",
                    sv.name
                ),
            ));
        }
        if !seen.insert(sv.name.to_lowercase()) {
            return Err(bad_request(
                shared,
                &format!("Duplicate setting name '{}'.", sv.name),
            ));
        }
    }
    if shared.capitalise_booleans() {
        let values = values
            .into_iter()
            .map(|mut sv| {
                sv.value = sv.value.map(|v| match v.as_str() {
                    "true" => "True".to_string(),
                    "false" => "False".to_string(),
                    _ => v,
                });
                sv
            })
            .collect();
        return Ok(values);
    }
    Ok(values)
}

fn create_setting(shared: &Shared, req: &EmuRequest) -> EmuResponse {
    shared.count("create_setting_attempt");
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(_) => return bad_request(shared, "Invalid request body."),
    };
    let template_id = body
        .get("templateId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !template_id.eq_ignore_ascii_case(GROUP_UNIFIED_TEMPLATE_ID) {
        return bad_request(shared, &format!("Invalid templateId '{template_id}'."));
    }
    let values = match parse_values(shared, body.get("values")) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut t = shared.tenant();
    if t.settings.iter().any(|s| {
        s.template_id
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(template_id))
    }) {
        drop(t);
        return bad_request(
            shared,
            "Another object with the same value for property templateId already exists.",
        );
    }
    let setting = DirectorySetting {
        values_unread: false,
        id: shared.new_uuid(),
        display_name: Some("Group.Unified".into()),
        template_id: Some(GROUP_UNIFIED_TEMPLATE_ID.into()),
        values,
    };
    t.settings.push(setting.clone());
    drop(t);
    shared.count("create_setting");
    EmuResponse::json(201, json!(setting))
}

fn patch_setting(shared: &Shared, req: &EmuRequest, id: &str) -> EmuResponse {
    shared.count("patch_setting_attempt");
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(_) => return bad_request(shared, "Invalid request body."),
    };
    let values = match parse_values(shared, body.get("values")) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut t = shared.tenant();
    let Some(s) = t.settings.iter_mut().find(|s| s.id == id) else {
        drop(t);
        return not_found(shared, id);
    };
    // Graph replaces the whole array: values not sent are gone.
    s.values = values;
    drop(t);
    shared.count("patch_setting");
    EmuResponse::no_content()
}

// Long on purpose: `$batch` as Graph documents it (limits, dependsOn, 424, throttled items),
// one branch per rule.
fn batch(shared: &Shared, req: &EmuRequest) -> EmuResponse {
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(_) => return graph_error(shared, 400, "BadRequest", "Invalid batch payload format."),
    };
    let Some(requests) = body.get("requests").and_then(Value::as_array) else {
        return graph_error(shared, 400, "BadRequest", "Invalid batch payload format.");
    };
    if requests.len() > 20 {
        return graph_error(
            shared,
            400,
            "BadRequest",
            "Number of batch requests exceeded the limit of 20.",
        );
    }
    let mut ids = HashSet::new();
    for r in requests {
        let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty() || !ids.insert(id.to_string()) {
            return graph_error(
                shared,
                400,
                "BadRequest",
                "Batch request ids must be present and unique.",
            );
        }
        if r.get("method").and_then(Value::as_str).is_none()
            || r.get("url").and_then(Value::as_str).is_none()
        {
            return graph_error(
                shared,
                400,
                "BadRequest",
                "Each batch request needs a method and a url.",
            );
        }
    }
    let mut responses = Vec::with_capacity(requests.len());
    for r in requests {
        shared.count("batch_item");
        let id = r["id"].as_str().unwrap_or_default();
        let method = r["method"].as_str().unwrap_or_default().to_uppercase();
        let url = r["url"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('/');
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let headers: Vec<(String, String)> = r
            .get("headers")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let body_bytes = r
            .get("body")
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default();
        let resp = if path == "$batch" {
            bad_request(shared, "Nested batch requests are not supported.")
        } else if let Some(fault) = shared.storm_fault().or_else(|| shared.item_fault()) {
            fault_response(shared, fault)
        } else {
            dispatch(
                shared,
                &EmuRequest {
                    method: &method,
                    path,
                    query,
                    headers: &headers,
                    body: &body_bytes,
                },
            )
        };
        let mut item = serde_json::Map::new();
        item.insert("id".into(), json!(id));
        item.insert("status".into(), json!(resp.status));
        let hdrs: serde_json::Map<String, Value> = resp
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        item.insert("headers".into(), Value::Object(hdrs));
        match resp.body {
            EmuBody::Empty => {}
            EmuBody::Json(v) => {
                item.insert("body".into(), v);
            }
            EmuBody::RawJson(b) => {
                let v: Value = serde_json::from_slice(&b).expect("the emulator writes valid JSON");
                item.insert("body".into(), v);
            }
            EmuBody::Text(s) => {
                item.insert("body".into(), json!(s));
            }
        }
        responses.push(Value::Object(item));
    }
    shared.shuffle(&mut responses);
    let throttled = responses.iter().any(|r| r["status"] == 429);
    if throttled && shared.batch_424() {
        shared.count("batch_424");
        return EmuResponse::json(424, json!({ "responses": responses }));
    }
    EmuResponse::json(200, json!({ "responses": responses }))
}

/// The response for an injected fault (the connection-level ones are handled by the server).
pub(crate) fn fault_response(shared: &Shared, fault: Fault) -> EmuResponse {
    match fault {
        Fault::Throttle { retry_after } => {
            let mut r = graph_error(
                shared,
                429,
                "TooManyRequests",
                "Too many requests. Please retry after the time in the Retry-After header.",
            );
            // Graph capitalises it; clients must look it up case-insensitively.
            r.headers.push(("Retry-After".into(), retry_after));
            r.headers.push((
                "x-ms-throttle-scope".into(),
                "Tenant_Application/ReadWrite/emulator".into(),
            ));
            r
        }
        Fault::Unavailable => graph_error(
            shared,
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        ),
        Fault::GatewayTimeout => graph_error(shared, 504, "UnknownError", "Gateway timeout."),
        Fault::Drop | Fault::Slow | Fault::LostAnswer => graph_error(
            shared,
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        ),
    }
}

/// The Microsoft 365 groups activity report as JSON (`$format=application/json`; without it
/// Graph redirects to a CSV download, which gwb never asks for): 200 rows to a page.
fn activity_report(shared: &Shared, req: &EmuRequest) -> EmuResponse {
    use super::ActivityReport;
    if shared.cfg.activity_report == ActivityReport::Forbidden {
        return forbidden(shared);
    }
    let params = query_params(req.query);
    if param(&params, "$format") != Some("application/json") {
        return EmuResponse {
            status: 302,
            headers: vec![(
                "location".into(),
                "https://reports.office.com/data/download/emulated".into(),
            )],
            body: EmuBody::Empty,
        };
    }
    let from: usize = param(&params, "$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let concealed = matches!(
        shared.cfg.activity_report,
        ActivityReport::Concealed | ActivityReport::ConcealedGuidLike
    );
    let guid_like = shared.cfg.activity_report == ActivityReport::ConcealedGuidLike;
    // A stand-in for the report's hash of a concealed name or id: 32 hex digits, or the same
    // shaped like a GUID.
    let hash = |s: &str| {
        let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
        for b in s.bytes() {
            h = (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
        let hex = format!("{h:032x}");
        if guid_like {
            format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            )
        } else {
            hex.to_ascii_uppercase()
        }
    };
    let tenant = shared.tenant();
    let unified: Vec<&super::EmuGroup> = tenant.groups.iter().filter(|g| g.is_unified()).collect();
    let page: Vec<Value> = unified
        .iter()
        .enumerate()
        .skip(from)
        .take(200)
        .map(|(i, g)| {
            let last = (i % 5 != 0).then(|| format!("2026-{:02}-{:02}", 6 + i % 5, 1 + i % 28));
            json!({
                "groupId": if concealed { hash(&g.id) } else { g.id.clone() },
                "reportRefreshDate": "2026-11-28",
                "groupDisplayName": if concealed { hash(&g.display_name) } else { g.display_name.clone() },
                "isDeleted": false,
                "ownerPrincipalName": if concealed { hash("owner") } else { "owner@contoso.example".to_string() },
                "lastActivityDate": last,
                "groupType": "Private",
                "memberCount": g.member_count,
                "reportPeriod": "180",
            })
        })
        .collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.office365GroupsActivityDetail)",
        "value": page,
    });
    if from + 200 < unified.len() {
        body["@odata.nextLink"] = json!(format!(
            "{}/beta/reports/getOffice365GroupsActivityDetail(period='D180')?$format=application/json&$skiptoken={}",
            shared.base_url(),
            from + 200
        ));
    }
    EmuResponse::json(200, body)
}
