//! Control characters in Graph's answers never reach the terminal.

use crate::support::Scenario;
use crate::support::{plain_tenant, should_change, stderr, stdout};
use gwb::emulator::{EmulatorConfig, Tenant};

/// D17: names from Graph cannot move the cursor or fake lines in what people read.
/// (Issue 12, item D17.)
#[tokio::test(flavor = "multi_thread")]
async fn control_characters_never_reach_the_terminal() {
    let mut t = plain_tenant(40, 81);
    let i = t.groups.iter().position(should_change).unwrap();
    t.groups[i].display_name =
        "Innocent\n  Summary: 0 changes; nothing will be written\r\u{1b}[2K\u{7}\u{202e}".into();
    let s = Scenario::with(Tenant::new(t.groups, Vec::new()), EmulatorConfig::default()).await;
    let _emu = &s.emu;
    for args in [
        vec!["disable-existing-m365", "--dry-run", "-o", "table"],
        vec!["report", "-o", "table"],
    ] {
        let out = s.gwb(&args).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            !text.contains(['\r', '\u{1b}', '\u{7}', '\u{202e}']),
            "{args:?}: {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("  Summary: 0 changes")),
            "{args:?}: a fake summary line:\n{text}"
        );
        assert!(text.contains("Innocent\\u{a}  Summary"), "{args:?}: {text}");
    }
}
