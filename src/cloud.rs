//! The national clouds: a leaf that both the parsed flags (`cli`) and the resolved settings
//! (`config`) name, so neither imports the other for it.

use serde::Deserialize;

/// The public Graph root; gwb appends `/beta`.
pub(crate) const DEFAULT_GRAPH_ROOT: &str = "https://graph.microsoft.com";

/// The national clouds: each has its own Graph root and sign-in host, and a token of one is not
/// valid in another (GRAPH.md, section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Microsoft Entra global service.
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    UsgovDod,
    /// Microsoft Entra operated by 21Vianet (China).
    China,
}

impl Cloud {
    pub(crate) const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Usgov, Cloud::UsgovDod, Cloud::China];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::UsgovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    pub(crate) fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => DEFAULT_GRAPH_ROOT,
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub(crate) fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The cloud whose Graph lives at `root`'s host, if any.
    pub(crate) fn of_graph_root(root: &str) -> Option<Cloud> {
        let host = url::Url::parse(root).ok()?.host_str()?.to_ascii_lowercase();
        Cloud::ALL.into_iter().find(|c| {
            url::Url::parse(c.graph_root())
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .as_deref()
                == Some(host.as_str())
        })
    }
}
