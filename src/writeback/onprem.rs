//! What a change in Entra does to the copy of a group in on-premises Active Directory, as
//! Microsoft's "Modify Microsoft Entra Connect group writeback default behavior" article
//! describes it (shared/seeds/entra-connect-modify-group-writeback.md). gwb cannot see or
//! change AD; it says this where the admin decides: the plan, the prompt, the summary.

/// Disabling writeback: the AD copy may be deleted, and turning writeback on again makes a new
/// one unless the old one comes back from the AD Recycle Bin first.
pub(crate) const DISABLE: &str = concat!(
    "On premises: if Entra Connect has the documented delete rule ('... Delete WriteBackOutOfScope ",
    "and SoftDelete'), each group disabled here is deleted from Active Directory at the next sync; ",
    "without it the AD copy stays, no longer updated. Turning writeback on again later creates a new ",
    "AD group unless the old one is first restored from the AD Recycle Bin. Check the Connect ",
    "server's rules (Get-ADSyncRule) first. The flag takes effect only while Entra Connect's group ",
    "writeback v2 (GroupWritebackV2) is on: with v1 alone every Microsoft 365 group is written back ",
    "whatever its flag, and setting it first is Microsoft's own preparation step. ",
    "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-modify-group-writeback"
);

/// Turning writeback back on (restore): Entra comes back exactly; AD only if restored first.
pub(crate) const RESTORE: &str = concat!(
    "On premises: a group whose AD copy the delete rule removed comes back in Active Directory as a ",
    "new group (new objectGUID and SID: permissions and mail routing that named the old one do not ",
    "follow) unless it is restored from the AD Recycle Bin before this restore; then it rejoins. ",
    "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-modify-group-writeback"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_link_the_article_they_rest_on() {
        let article = "https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-modify-group-writeback";
        assert!(DISABLE.ends_with(article) && RESTORE.ends_with(article));
        assert!(DISABLE.contains("Recycle Bin") && RESTORE.contains("Recycle Bin"));
    }
}
