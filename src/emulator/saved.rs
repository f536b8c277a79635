//! The built-in emulator's tenant between commands (`gwb --emulator ...`): what the commands
//! change (each group's writeback configuration, the directory settings) is kept in the state
//! directory, one file per sample tenant (its size and seed), so a walkthrough (`disable --yes`,
//! then `report`, then `restore --last`) shows its own changes. `--emulator-reset` starts afresh.
//! Written to a temporary file and renamed, so a killed run never leaves half a file; an
//! unreadable file is a warning and a fresh tenant, never a failed command.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Tenant;
use crate::graph::model::{DirectorySetting, WritebackConfiguration};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    groups: usize,
    seed: u64,
    writeback: BTreeMap<String, WritebackConfiguration>,
    settings: Vec<DirectorySetting>,
}

/// Where the sample tenant of `groups` groups and seed `seed` is kept.
pub(crate) fn path(state_dir: &Path, groups: usize, seed: u64) -> PathBuf {
    state_dir
        .join("emulator")
        .join(format!("tenant-{groups}-{seed}.json"))
}

/// Apply what earlier commands changed to the freshly generated `tenant`; whether anything was
/// kept.
pub(crate) fn load_into(tenant: &mut Tenant, path: &Path) -> bool {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            tracing::warn!(
                "cannot read the emulator's tenant {}: {e}; starting afresh",
                path.display()
            );
            return false;
        }
    };
    let saved: Saved = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "the emulator's tenant {} is unreadable ({e}); starting afresh",
                path.display()
            );
            return false;
        }
    };
    for (id, wb) in saved.writeback {
        if let Some(g) = tenant.group_mut(&id) {
            g.writeback = wb;
        }
    }
    tenant.settings = saved.settings;
    true
}

/// Keep the tenant's changeable state for the next command.
pub(crate) fn save(tenant: &Tenant, groups: usize, seed: u64, path: &Path) -> std::io::Result<()> {
    let saved = Saved {
        groups,
        seed,
        writeback: tenant
            .groups
            .iter()
            .map(|g| (g.id.clone(), g.writeback.clone()))
            .collect(),
        settings: tenant.settings.clone(),
    };
    let text = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
    crate::files::write_atomic(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_a_save_and_a_load_and_a_broken_file_starts_afresh() {
        let dir = std::env::temp_dir().join(format!("gwb-emu-saved-{}", std::process::id()));
        let p = path(&dir, 30, 4);
        let mut t = Tenant::generate(30, 4);
        let id = t.groups[3].id.clone();
        t.groups[3].writeback.is_enabled = Some(false);
        t.settings = vec![DirectorySetting {
            id: "s1".into(),
            display_name: Some("Group.Unified".into()),
            template_id: Some(crate::graph::model::GROUP_UNIFIED_TEMPLATE_ID.into()),
            values: vec![crate::graph::model::SettingValue {
                name: "NewUnifiedGroupWritebackDefault".into(),
                value: Some("false".into()),
            }],
            values_unread: false,
        }];
        save(&t, 30, 4, &p).unwrap();
        let mut fresh = Tenant::generate(30, 4);
        assert!(load_into(&mut fresh, &p));
        assert_eq!(fresh.group(&id).unwrap().writeback.is_enabled, Some(false));
        assert_eq!(fresh.settings, t.settings);
        std::fs::write(&p, "{not json").unwrap();
        let mut again = Tenant::generate(30, 4);
        assert!(!load_into(&mut again, &p));
        assert_eq!(
            again.groups[3].writeback,
            Tenant::generate(30, 4).groups[3].writeback
        );
    }
}
