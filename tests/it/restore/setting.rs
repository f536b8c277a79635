//! Restoring Group.Unified puts back only the value gwb changed.

use crate::support::{Scenario, json_of, stderr, temp_dir};
use gwb::emulator::{EmulatorConfig, Tenant};

use crate::support::GU;

/// A3 (the tenant default): restore puts back only NewUnifiedGroupWritebackDefault, keeps the
/// values an admin changed since, and leaves the key alone if it was changed after gwb's run.
/// (Issue 12, item A3.)
#[tokio::test(flavor = "multi_thread")]
async fn setting_restore_puts_back_only_the_value_gwb_changed() {
    use gwb::graph::model::{DirectorySetting, SettingValue};
    let sv = |n: &str, v: &str| SettingValue {
        name: n.into(),
        value: Some(v.into()),
    };
    let unified = |emu: &gwb::emulator::Emulator| {
        emu.shared()
            .tenant()
            .settings
            .iter()
            .find(|s| s.template_id.as_deref() == Some(GU))
            .unwrap()
            .values
            .clone()
    };
    let set_value = |emu: &gwb::emulator::Emulator, name: &str, value: &str| {
        let mut t = emu.shared().tenant();
        let s = t
            .settings
            .iter_mut()
            .find(|s| s.template_id.as_deref() == Some(GU))
            .unwrap();
        s.values.iter_mut().find(|v| v.name == name).unwrap().value = Some(value.into());
    };
    let start = |values: Vec<SettingValue>| async move {
        let setting = DirectorySetting {
            id: "8f1c2d3e-0000-4000-8000-00000000abcd".into(),
            display_name: None,
            template_id: Some(GU.into()),
            values,
            values_unread: false,
        };
        Scenario::with(
            Tenant::new(Tenant::generate(10, 1).groups, vec![setting]),
            EmulatorConfig::default(),
        )
        .await
    };

    // Another value changed since: the key goes back, the other change stays.
    let original = vec![
        sv("AllowToAddGuests", "True"),
        sv("NewUnifiedGroupWritebackDefault", "True"),
    ];
    let s = start(original.clone()).await;
    let emu = &s.emu;
    let j = temp_dir("a3s").join("j.jsonl");
    let jp = j.to_str().unwrap();
    let out = s
        .gwb(&["set-default", "false", "--journal", jp, "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    set_value(emu, "AllowToAddGuests", "false");
    let out = s
        .gwb(&["restore", "--journal", jp, "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        unified(emu),
        vec![
            sv("AllowToAddGuests", "false"),
            sv("NewUnifiedGroupWritebackDefault", "True")
        ],
        "only the key was put back"
    );

    // The key itself changed since: left alone (exit 1) unless --force.
    let s = start(original.clone()).await;
    let emu = &s.emu;
    let j = temp_dir("a3s2").join("j.jsonl");
    let jp = j.to_str().unwrap();
    let out = s
        .gwb(&["set-default", "false", "--journal", jp, "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    set_value(emu, "NewUnifiedGroupWritebackDefault", "maybe");
    let out = s
        .gwb(&["restore", "--journal", jp, "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_of(&out)["action"], "changedSinceRun");
    assert_eq!(unified(emu)[1].value.as_deref(), Some("maybe"));
    let out = s
        .gwb(&["restore", "--journal", jp, "--yes", "--force", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(unified(emu), original);
}
