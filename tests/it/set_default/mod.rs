//! `set-default` against the emulator and wiremock: create from the template, update without
//! clobbering, idempotence, casing, dry run, the create race, read-after-write lag, restore.

mod unsafe_settings;

use gwb::emulator::{EmulatorConfig, Tenant};
use gwb::graph::model::{DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingValue};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::support::Scenario;
use crate::support::{GraphMock, fixture_path, stderr, stdout, temp_dir};

fn sv(name: &str, value: &str) -> SettingValue {
    SettingValue {
        name: name.into(),
        value: Some(value.into()),
    }
}

/// A tenant's own Group.Unified: naming policy, guest flags, classifications, creation
/// restricted to one group, and the key in Graph's mixed casing.
fn customised(key: &str) -> Vec<SettingValue> {
    vec![
        sv("EnableMIPLabels", "False"),
        sv("CustomBlockedWordsList", "Payroll,CEO,\"Board\""),
        sv("EnableMSStandardBlockedWords", "True"),
        sv(
            "ClassificationDescriptions",
            "Public:Anyone,Secret:Need to know",
        ),
        sv("DefaultClassification", "Internal"),
        sv(
            "PrefixSuffixNamingRequirement",
            "GRP_[Department]_[GroupName]",
        ),
        sv("AllowGuestsToBeGroupOwner", "False"),
        sv("AllowGuestsToAccessGroups", "False"),
        sv("GuestUsageGuidelinesUrl", "https://contoso.example/guests"),
        sv(
            "GroupCreationAllowedGroupId",
            "6e1a0b9c-0000-4000-8000-000000000001",
        ),
        sv("AllowToAddGuests", "False"),
        sv(
            "UsageGuidelinesUrl",
            "https://contoso.example/groups?lang=ünï",
        ),
        sv("ClassificationList", "Public,Internal,Secret"),
        sv("EnableGroupCreation", "False"),
        sv("NewUnifiedGroupWritebackDefault", key),
    ]
}

fn tenant_with(values: Option<Vec<SettingValue>>) -> Tenant {
    let settings = values
        .map(|values| DirectorySetting {
            values_unread: false,
            id: "8f1c2d3e-0000-4000-8000-00000000abcd".into(),
            display_name: None,
            template_id: Some(GROUP_UNIFIED_TEMPLATE_ID.into()),
            values,
        })
        .into_iter()
        .collect();
    Tenant::new(Tenant::generate(30, 1).groups, settings)
}

fn unified(t: &Tenant) -> Option<DirectorySetting> {
    t.settings
        .iter()
        .find(|s| s.template_id.as_deref() == Some(GROUP_UNIFIED_TEMPLATE_ID))
        .cloned()
}

fn json_out(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

const WRITES: [&str; 3] = [
    "create_setting_attempt",
    "patch_setting_attempt",
    "delete_setting",
];

#[tokio::test(flavor = "multi_thread")]
async fn absent_setting_is_created_with_all_fifteen_values_and_restore_removes_it() {
    let s = Scenario::with(tenant_with(None), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let dir = temp_dir("setdef-create");
    let j = dir.join("j.jsonl");
    let j = j.to_str().unwrap();

    let dry = json_out(
        &*s.gwb(&["set-default", "false", "--dry-run", "-o", "json"])
            .await,
    );
    assert_eq!(dry["action"], "wouldCreate");
    assert_eq!(dry["valuesAfter"].as_array().unwrap().len(), 15);
    for w in WRITES {
        assert_eq!(emu.shared().stat(w), 0, "dry run wrote ({w})");
    }

    let v = json_out(
        &*s.gwb(&["set-default", "false", "--journal", j, "-o", "json"])
            .await,
    );
    assert_eq!(v["action"], "created");
    assert_eq!(v["verified"], true);
    let created = unified(&emu.shared().tenant()).expect("created");
    assert_eq!(created.values.len(), 15);
    let template = gwb::emulator::group_unified_template();
    for t in &template.values {
        let got = created.values.iter().find(|v| v.name == t.name).unwrap();
        let want = if t.name == "NewUnifiedGroupWritebackDefault" {
            "false".to_string()
        } else {
            t.default_value.clone().unwrap()
        };
        assert_eq!(got.value.as_deref(), Some(want.as_str()), "{}", t.name);
    }
    assert_eq!(v["settingId"], created.id.as_str());

    // Restore: gwb created it, nobody changed it since, so it goes away again.
    let r = json_out(
        &*s.gwb(&["restore", "--journal", j, "--yes", "-o", "json"])
            .await,
    );
    assert_eq!(r["method"], "delete");
    assert!(unified(&emu.shared().tenant()).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn present_setting_keeps_every_other_value_byte_for_byte_and_restores_exactly() {
    let original = customised("True");
    let s = Scenario::with(
        tenant_with(Some(original.clone())),
        EmulatorConfig::default(),
    )
    .await;
    let emu = &s.emu;
    let dir = temp_dir("setdef-update");
    let j = dir.join("j.jsonl");
    let j = j.to_str().unwrap();

    let v = json_out(
        &*s.gwb(&["set-default", "false", "--journal", j, "-o", "json"])
            .await,
    );
    assert_eq!(v["action"], "updated");
    assert_eq!(v["before"]["rawValue"], "True");
    let now = unified(&emu.shared().tenant()).unwrap().values;
    assert_eq!(now.len(), original.len());
    for (b, a) in original.iter().zip(&now) {
        if b.name == "NewUnifiedGroupWritebackDefault" {
            assert_eq!(a.value.as_deref(), Some("false"), "written lowercase");
        } else {
            assert_eq!(a, b, "kept byte for byte");
        }
    }
    assert_eq!(emu.shared().stat("patch_setting"), 1);
    assert_eq!(emu.shared().stat("create_setting_attempt"), 0);

    // A second run writes nothing.
    let again = json_out(&*s.gwb(&["set-default", "false", "-o", "json"]).await);
    assert_eq!(again["action"], "unchanged");
    assert_eq!(emu.shared().stat("patch_setting_attempt"), 1);

    // Restore puts the previous array back exactly, casing and all.
    let dry = json_out(
        &*s.gwb(&["restore", "--journal", j, "--dry-run", "-o", "json"])
            .await,
    );
    assert_eq!(dry["action"], "wouldRestore");
    assert_eq!(
        emu.shared().stat("patch_setting_attempt"),
        1,
        "dry run wrote"
    );
    let r = json_out(
        &*s.gwb(&["restore", "--journal", j, "--yes", "-o", "json"])
            .await,
    );
    assert_eq!(r["method"], "patch");
    assert_eq!(unified(&emu.shared().tenant()).unwrap().values, original);
    let again = json_out(
        &*s.gwb(&["restore", "--journal", j, "--yes", "-o", "json"])
            .await,
    );
    assert_eq!(again["action"], "alreadyInRecordedState");
}

#[tokio::test(flavor = "multi_thread")]
async fn casing_is_compared_case_insensitively_and_true_follows_false() {
    let s = Scenario::with(
        tenant_with(Some(customised("False"))),
        EmulatorConfig::default(),
    )
    .await;
    let emu = &s.emu;
    let v = json_out(&*s.gwb(&["set-default", "false", "-o", "json"]).await);
    assert_eq!(v["action"], "unchanged", "False equals false");
    for w in WRITES {
        assert_eq!(emu.shared().stat(w), 0);
    }
    let v = json_out(&*s.gwb(&["set-default", "true", "-o", "json"]).await);
    assert_eq!(v["action"], "updated");
    let now = unified(&emu.shared().tenant()).unwrap().values;
    assert_eq!(
        now.last().unwrap(),
        &sv("NewUnifiedGroupWritebackDefault", "true")
    );
    // The report says the same, in the same words.
    let out = s.gwb(&["report", "-o", "table"]).await;
    assert!(
        stdout(&out).contains("NewUnifiedGroupWritebackDefault = true (set in the tenant's Group.Unified directory setting)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_value_is_a_usage_error_and_sends_nothing() {
    let s = Scenario::with(tenant_with(None), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let out = s.gwb(&["set-default", "maybe"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: true, false"),
        "{}",
        stderr(&out)
    );
    assert_eq!(emu.shared().stat("requests"), 0);
}

fn setting_json(key: &str) -> Value {
    json!({
        "id": "8f1c2d3e-0000-4000-8000-00000000abcd",
        "displayName": null,
        "templateId": GROUP_UNIFIED_TEMPLATE_ID,
        "values": customised(key),
    })
}

fn settings_page(items: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "value": items }))
}

/// A tenant without Group.Unified at the first read, and with `created` from the second on
/// (a create that landed); the template gwb creates it from.
async fn created_on_the_second_read(g: &GraphMock, created: Value) {
    g.on("GET", "/beta/settings")
        .once()
        .priority(1)
        .with(settings_page(vec![]))
        .await;
    g.on("GET", "/beta/settings")
        .priority(2)
        .with(settings_page(vec![created]))
        .await;
    g.on(
        "GET",
        format!("/beta/directorySettingTemplates/{GROUP_UNIFIED_TEMPLATE_ID}"),
    )
    .with(template())
    .await;
}

fn template() -> ResponseTemplate {
    let t = std::fs::read_to_string(fixture_path(
        "directory-setting-template-group-unified.json",
    ))
    .unwrap();
    ResponseTemplate::new(200).set_body_raw(t, "application/json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_loses_the_race_reads_again_and_updates() {
    let g = GraphMock::start().await;
    // First read: no setting. Then someone else's setting, then ours after the PATCH.
    g.on("GET", "/beta/settings")
        .once()
        .priority(1)
        .with(settings_page(vec![]))
        .await;
    g.on("GET", "/beta/settings")
        .once()
        .priority(2)
        .with(settings_page(vec![setting_json("True")]))
        .await;
    g.on("GET", "/beta/settings")
        .priority(3)
        .with(settings_page(vec![setting_json("false")]))
        .await;
    g.on(
        "GET",
        format!("/beta/directorySettingTemplates/{GROUP_UNIFIED_TEMPLATE_ID}"),
    )
    .with(template())
    .await;
    g.on("POST", "/beta/settings")
        .expect(1)
        .with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": "Request_BadRequest",
            "message": "Another object with the same value for property templateId already exists.",
            "innerError": {"request-id": "r-1"}}})))
        .await;
    g.on(
        "PATCH",
        "/beta/settings/8f1c2d3e-0000-4000-8000-00000000abcd",
    )
    .expect(1)
    .status(204)
    .await;
    let g = g.strict().await;

    let dir = temp_dir("setdef-race");
    let j = dir.join("j.jsonl");
    let v = json_out(
        &*g.gwb(&[
            "set-default",
            "false",
            "--journal",
            j.to_str().unwrap(),
            "-o",
            "json",
        ])
        .await,
    );
    assert_eq!(v["action"], "updated");
    assert_eq!(v["verified"], true);
    // The PATCH carried the other tenant's whole array with only the key changed.
    let patch = g
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PATCH")
        .unwrap();
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    let want: Vec<SettingValue> = customised("false");
    assert_eq!(body["values"], json!(want));
    // The journal's original state is the setting someone else created, not "no setting".
    let c = gwb::journal::read(&j).unwrap();
    let rec = c.setting.unwrap();
    assert_eq!(rec.before, Some(customised("True")));
}

async fn lagging_server(lagging_reads: u64) -> GraphMock {
    let g = GraphMock::start().await;
    // The first read (plan) and `lagging_reads` read-backs still show the old value.
    g.on("GET", "/beta/settings")
        .times(1 + lagging_reads)
        .priority(1)
        .with(settings_page(vec![setting_json("true")]))
        .await;
    g.on("GET", "/beta/settings")
        .priority(2)
        .with(settings_page(vec![setting_json("false")]))
        .await;
    g.on(
        "PATCH",
        "/beta/settings/8f1c2d3e-0000-4000-8000-00000000abcd",
    )
    .expect(1)
    .status(204)
    .await;
    g.strict().await
}

#[tokio::test(flavor = "multi_thread")]
async fn read_after_write_lag_is_waited_out_and_reported_when_it_does_not_converge() {
    let dir = temp_dir("setdef-lag");
    let g = lagging_server(1).await;
    let j = dir.join("a.jsonl");
    let v = json_out(
        &*g.gwb(&[
            "set-default",
            "false",
            "--journal",
            j.to_str().unwrap(),
            "-o",
            "json",
        ])
        .await,
    );
    assert_eq!(v["verified"], true, "one stale read, then the new value");

    let g = lagging_server(100).await;
    let j = dir.join("b.jsonl");
    let out = g
        .gwb(&[
            "set-default",
            "false",
            "--journal",
            j.to_str().unwrap(),
            "--verify-timeout",
            "0",
            "-o",
            "json",
        ])
        .await;
    let v = json_out(&out);
    assert_eq!(v["verified"], false);
    assert!(
        stderr(&out).contains("still does not show"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_write_names_the_permission_and_exits_4() {
    let g = GraphMock::start().await;
    g.on("GET", "/beta/settings")
        .with(settings_page(vec![setting_json("true")]))
        .await;
    g.on(
        "PATCH",
        "/beta/settings/8f1c2d3e-0000-4000-8000-00000000abcd",
    )
    .error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
    .await;
    let g = g.strict().await;
    let dir = temp_dir("setdef-403");
    let j = dir.join("j.jsonl");
    let out = g
        .gwb(&["set-default", "false", "--journal", j.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("GroupSettings.ReadWrite.All"), "{err}");
    assert!(err.contains("r-403"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_answer_was_lost_is_recognised_as_our_own() {
    let g = GraphMock::start().await;
    let ours: Vec<SettingValue> = gwb::emulator::group_unified_template()
        .values
        .iter()
        .map(|t| {
            let v = if t.name == "NewUnifiedGroupWritebackDefault" {
                "false".to_string()
            } else {
                t.default_value.clone().unwrap()
            };
            sv(&t.name, &v)
        })
        .collect();
    let created = json!({"id": "11111111-2222-4333-8444-555555555555",
        "templateId": GROUP_UNIFIED_TEMPLATE_ID, "values": ours});
    created_on_the_second_read(&g, created).await;
    // The create lands, but its answer is a 503; the retry then meets our own setting.
    g.on("POST", "/beta/settings")
        .once()
        .priority(1)
        .with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .await;
    g.on("POST", "/beta/settings").priority(2).with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": "Request_BadRequest",
            "message": "Another object with the same value for property templateId already exists."}}))).await;
    let g = g.strict().await;
    let dir = temp_dir("setdef-lost");
    let j = dir.join("j.jsonl");
    let v = json_out(
        &*g.gwb(&[
            "set-default",
            "false",
            "--journal",
            j.to_str().unwrap(),
            "-o",
            "json",
        ])
        .await,
    );
    assert_eq!(v["action"], "created");
    assert_eq!(v["settingId"], "11111111-2222-4333-8444-555555555555");
    let rec = gwb::journal::read(&j).unwrap().setting.unwrap();
    assert_eq!(rec.before, None, "there was no setting before");
    assert_eq!(
        rec.created_id.as_deref(),
        Some("11111111-2222-4333-8444-555555555555"),
        "restore can remove it"
    );
    let patches = g
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .count();
    assert_eq!(patches, 0);
}

/// Issue 13, item 3: the create conflict in its other wording, and our own create read back with
/// Graph's capitalised booleans, are still recognised as gwb's own create.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_create_is_recognised_in_either_wording_and_any_casing() {
    let wordings = [
        "Another object with the same value for property templateId already exists.",
        "A conflicting object with one or more of the specified property values is present in the directory.",
    ];
    for wording in wordings {
        let g = GraphMock::start().await;
        // What Graph holds after our lost create: our values, booleans capitalised.
        let stored: Vec<SettingValue> = gwb::emulator::group_unified_template()
            .values
            .iter()
            .map(|t| {
                let v = if t.name == "NewUnifiedGroupWritebackDefault" {
                    "False".to_string()
                } else {
                    match t.default_value.clone().unwrap().as_str() {
                        "true" => "True".to_string(),
                        "false" => "False".to_string(),
                        other => other.to_string(),
                    }
                };
                sv(&t.name, &v)
            })
            .collect();
        let created = json!({"id": "11111111-2222-4333-8444-555555555555",
            "templateId": GROUP_UNIFIED_TEMPLATE_ID, "values": stored});
        created_on_the_second_read(&g, created).await;
        g.on("POST", "/beta/settings")
            .with(ResponseTemplate::new(400).set_body_json(
                json!({"error": {"code": "Request_BadRequest", "message": wording}}),
            ))
            .await;
        let g = g.strict().await;
        let out = g.gwb(&["set-default", "false", "-o", "json"]).await;
        let v = json_out(&out);
        assert_eq!(v["action"], "created", "{wording}: {v}");
        assert_eq!(v["settingId"], "11111111-2222-4333-8444-555555555555");
    }
}

/// Issue 13, item 3: restoring a setting gwb created deletes it, also when Graph stored the
/// booleans capitalised; a DELETE whose answer was lost, retried into a 404, is a success.
#[tokio::test(flavor = "multi_thread")]
async fn restore_deletes_our_capitalised_setting_and_a_lost_delete_answer_is_success() {
    // The emulator capitalises booleans, as Graph does.
    let cfg = EmulatorConfig {
        capitalise_booleans: true,
        ..Default::default()
    };
    let s = Scenario::with(tenant_with(None), cfg).await;
    let emu = &s.emu;
    let j = temp_dir("setdef-caps").join("j.jsonl");
    let j = j.to_str().unwrap();
    let v = json_out(
        &*s.gwb(&["set-default", "false", "--journal", j, "-o", "json"])
            .await,
    );
    assert_eq!(v["action"], "created");
    let stored = unified(&emu.shared().tenant()).unwrap();
    assert!(
        stored
            .values
            .iter()
            .any(|v| v.value.as_deref() == Some("False"))
    );
    // Idempotent in any casing.
    let again = json_out(&*s.gwb(&["set-default", "false", "-o", "json"]).await);
    assert_eq!(again["action"], "unchanged");
    let r = json_out(
        &*s.gwb(&["restore", "--journal", j, "--yes", "-o", "json"])
            .await,
    );
    assert_eq!(r["method"], "delete", "{r}");
    assert!(unified(&emu.shared().tenant()).is_none());

    // The same restore against a Graph whose DELETE lands but whose answer is lost: the retry
    // meets 404, which is what was asked.
    let g = GraphMock::start().await;
    let id = stored.id.clone();
    g.on("GET", "/beta/settings")
        .with(settings_page(vec![serde_json::to_value(&stored).unwrap()]))
        .await;
    g.on("DELETE", format!("/beta/settings/{id}"))
        .once()
        .priority(1)
        .status(504)
        .await;
    g.on("DELETE", format!("/beta/settings/{id}"))
        .priority(2)
        .with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": "Request_ResourceNotFound", "message": "Resource does not exist."}})))
        .await;
    let g = g.strict().await;
    // The set-default journal as gwb writes it, made against this server.
    let sent: Vec<Value> = stored
        .values
        .iter()
        .map(|v| json!({"name": v.name, "value": v.value.as_deref().map(str::to_lowercase)}))
        .collect();
    let lines = [
        json!({"type": "run", "schemaVersion": 1, "runId": "r", "command": "set-default",
            "graphRoot": g.uri(), "startedAt": "2026-11-29T00:00:00Z", "gwbVersion": "0.1.0"}),
        json!({"type": "settingBefore", "settingId": null, "templateId": GROUP_UNIFIED_TEMPLATE_ID,
            "before": null, "after": sent, "at": "2026-11-29T00:00:01Z"}),
        json!({"type": "settingOutcome", "settingId": id, "result": "created",
            "at": "2026-11-29T00:00:02Z"}),
        json!({"type": "end", "at": "2026-11-29T00:00:03Z", "summary": {}}),
    ];
    let j2 = temp_dir("setdef-lost-delete").join("j.jsonl");
    std::fs::write(
        &j2,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let out = g
        .gwb(&[
            "restore",
            "--journal",
            j2.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ])
        .await;
    let r = json_out(&out);
    assert_eq!(
        (r["action"].as_str(), r["method"].as_str()),
        (Some("restored"), Some("delete")),
        "{r}"
    );
    let deletes = g
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .count();
    assert_eq!(deletes, 2, "the lost answer was retried once");
}
