//! Where gwb talks to: the cloud, the Graph root and the sign-in host. They are resolved
//! together because a token of one cloud must never be sent to another's Graph.

use super::{ConfigError, Layers, Source, Sourced, flag, pick};
use crate::cli::GlobalArgs;
use crate::cloud::Cloud;
use crate::graph::{DEFAULT_GRAPH_ROOT, validate_root};

pub(super) struct Endpoint {
    pub(super) cloud: Sourced<Cloud>,
    pub(super) graph_url: Sourced<String>,
    pub(super) authority_host: Sourced<String>,
}

pub(super) fn resolve(global: &GlobalArgs, layers: &Layers) -> Result<Endpoint, ConfigError> {
    let cloud_set = pick([
        flag(global.cloud, "--cloud"),
        layers.env_enum::<Cloud>("GWB_CLOUD")?,
        layers.in_file(layers.file.cloud),
    ]);
    let emulator = global.emulator.then(|| Sourced {
        // Replaced by the emulator's address once it listens.
        value: String::new(),
        source: Source::Emulator,
    });
    let implied = match &cloud_set {
        Some(c) => Sourced {
            value: c.value.graph_root().to_string(),
            source: Source::FromCloud(c.value),
        },
        None => Sourced {
            value: DEFAULT_GRAPH_ROOT.to_string(),
            source: Source::Default,
        },
    };
    let graph_url = pick([
        emulator,
        flag(global.graph_url.clone(), "--graph-url"),
        layers.env_str("GWB_GRAPH_URL"),
        layers.in_file(layers.file.graph_url.clone()),
        Some(implied),
    ])
    .expect("the last layer is always set");
    if !global.emulator {
        validate_root(&graph_url.value).map_err(|e| ConfigError::Value {
            name: format!("graph_url (from {})", graph_url.source),
            detail: e.to_string(),
        })?;
    }
    let cloud = cloud(cloud_set, &graph_url, global.emulator)?;
    let authority_host = pick([
        layers.env_str("AZURE_AUTHORITY_HOST"),
        layers.in_file(layers.file.authority_host.clone()),
        Some(Sourced {
            value: cloud.value.authority_host().to_string(),
            source: Source::FromCloud(cloud.value),
        }),
    ])
    .expect("the last layer is always set");
    match url::Url::parse(&authority_host.value) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
        _ => {
            return Err(ConfigError::Value {
                name: format!("authority_host (from {})", authority_host.source),
                detail: format!(
                    "{:?} is not an https URL; expected e.g. {}",
                    authority_host.value,
                    Cloud::Global.authority_host()
                ),
            });
        }
    }
    Ok(Endpoint {
        cloud,
        graph_url,
        authority_host,
    })
}

/// The cloud: as set, else the one whose Graph the root points at, else global. A Graph root
/// of one known cloud with another cloud set would get tokens for the wrong cloud.
fn cloud(
    set: Option<Sourced<Cloud>>,
    graph_url: &Sourced<String>,
    emulator: bool,
) -> Result<Sourced<Cloud>, ConfigError> {
    let url_cloud = if emulator {
        None
    } else {
        Cloud::of_graph_root(&graph_url.value)
    };
    Ok(match (set, url_cloud) {
        (Some(c), Some(u)) if c.value != u => {
            return Err(ConfigError::Value {
                name: format!("cloud (from {})", c.source),
                detail: format!(
                    "cloud = {} but graph_url (from {}) is {}, the Graph of cloud {}; a token of one cloud is never sent to another's Graph: make them agree",
                    c.value.as_str(),
                    graph_url.source,
                    graph_url.value,
                    u.as_str()
                ),
            });
        }
        (Some(c), _) => c,
        (None, Some(u)) => Sourced {
            value: u,
            source: Source::FromGraphUrl,
        },
        (None, None) => Sourced {
            value: Cloud::Global,
            source: Source::Default,
        },
    })
}
