//! The tenant default comes from Group.Unified, whatever the casing of its name and values.

use crate::support::Scenario;
use crate::support::stdout;
use gwb::graph::model::{DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingValue};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn tenant_default_comes_from_group_unified_case_insensitively() {
    let s = Scenario::generated(10, 5, 0.0).await;
    let emu = &s.emu;
    emu.shared().tenant().settings.push(DirectorySetting {
        values_unread: false,
        id: "setting-1".into(),
        display_name: None,
        template_id: Some(GROUP_UNIFIED_TEMPLATE_ID.into()),
        values: vec![
            SettingValue {
                name: "EnableGroupCreation".into(),
                value: Some("true".into()),
            },
            SettingValue {
                name: "NewUnifiedGroupWritebackDefault".into(),
                value: Some("FALSE".into()),
            },
        ],
    });
    let out = s.gwb(&["report", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["tenant"]["newUnifiedGroupWritebackDefault"], false);
    assert_eq!(v["tenant"]["source"], "setting");
    assert_eq!(v["tenant"]["settingId"], "setting-1");
    let table = s.gwb(&["report", "-o", "table"]).await;
    assert!(
        stdout(&table).contains("NewUnifiedGroupWritebackDefault = false (set in the tenant's Group.Unified directory setting)"),
        "{}",
        stdout(&table)
    );
}
