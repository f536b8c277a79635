//! The Microsoft Graph permissions gwb needs, least privilege first, in one table (the README's
//! permissions table says the same). Error messages name them from here.

/// Listing groups (report, check, planning).
pub(crate) const READ_GROUPS: &str = "Group.Read.All";
/// Reading Group.Unified: Group.Read.All covers tenant-wide settings (the beta settings list and
/// get pages name it); GroupSettings.Read.All is the least privilege for the settings alone.
pub(crate) const READ_SETTINGS: &str =
    "Group.Read.All (or GroupSettings.Read.All, the least privilege for settings alone)";
/// Changing a group's writeback.
pub(crate) const WRITE_GROUPS: &str = "Group.ReadWrite.All";
/// Changing Group.Unified.
pub(crate) const WRITE_SETTINGS: &str = "GroupSettings.ReadWrite.All";
/// Reading Entra Cloud Sync's agents (service principals) and their synchronization jobs; a
/// delegated caller also needs one of the roles the synchronization pages list.
pub(crate) const READ_CLOUD_SYNC: &str = "Application.Read.All and Synchronization.Read.All (signed in as a person: also the Application Administrator, Cloud Application Administrator or Hybrid Identity Administrator role)";
/// Reading a group's `onPremisesSyncBehavior` (its source of authority): the reference lists
/// no read-only permission; delegated, the least role it names is Hybrid Administrator.
pub(crate) const READ_SYNC_BEHAVIOR: &str = "Group-OnPremisesSyncBehavior.ReadWrite.All (signed in as a person: also the Hybrid Administrator role)";
/// Reading the Microsoft 365 groups activity report; a delegated caller also needs a role that
/// may read usage reports.
pub(crate) const READ_REPORTS: &str = "Reports.Read.All (signed in as a person: also a role that may read usage reports, such as Reports Reader)";
/// Changing a role-assignable group, besides [`WRITE_GROUPS`].
pub(crate) const ROLE_ASSIGNABLE: &str = "RoleManagement.ReadWrite.Directory";
