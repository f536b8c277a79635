//! Who gwb signs in as: the sign-in inputs (ids, certificate, secrets) and the kind of
//! credential, set or inferred from what is present. Where each input came from is kept (for
//! secrets the source only, never the value).

use std::collections::BTreeMap;
use std::path::PathBuf;

use azure_core::credentials::Secret;

use super::secrets::{SecretReader, shared_secret_warning};
use super::{ConfigError, Layers, Source, Sourced, flag, pick};
use crate::auth::{AuthInputs, AuthKind};
use crate::cli::GlobalArgs;

pub(super) struct SignIn {
    pub(super) auth: Option<Sourced<AuthKind>>,
    pub(super) inputs: AuthInputs,
    pub(super) origins: BTreeMap<&'static str, Source>,
    pub(super) warnings: Vec<String>,
}

pub(super) fn resolve(
    global: &GlobalArgs,
    layers: &Layers,
    authority_host: &str,
) -> Result<SignIn, ConfigError> {
    let file = &layers.file;
    let mut origins = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut keep = |key: &'static str, picked: Option<Sourced<String>>| {
        picked.map(|s| {
            origins.insert(key, s.source);
            s.value
        })
    };
    let tenant_id = keep(
        "tenant_id",
        pick([
            layers.env_str("AZURE_TENANT_ID"),
            layers.in_file(file.tenant_id.clone()),
        ]),
    );
    let client_id = keep(
        "client_id",
        pick([
            layers.env_str("AZURE_CLIENT_ID"),
            layers.in_file(file.client_id.clone()),
        ]),
    );
    let federated_token_file = keep(
        "federated_token_file",
        layers.env_str("AZURE_FEDERATED_TOKEN_FILE"),
    )
    .map(PathBuf::from);
    let client_certificate = certificate(layers, &mut origins, &mut warnings);
    let (access_token, client_secret, client_certificate_password) =
        read_secrets(layers, &mut origins, &mut warnings)?;
    let inputs = AuthInputs {
        access_token,
        tenant_id,
        client_id,
        client_secret,
        client_certificate,
        client_certificate_password,
        authority_host: authority_host.to_string(),
        federated_token_file,
        cli_executor: None,
        transport: None,
    };
    let emulator = global.emulator.then_some(Sourced {
        value: AuthKind::AccessToken,
        source: Source::Emulator,
    });
    let auth = pick([
        emulator,
        flag(global.auth, "--auth"),
        layers.env_enum::<AuthKind>("GWB_AUTH")?,
        layers.in_file(file.auth),
        inferred(&inputs, layers),
    ]);
    Ok(SignIn {
        auth,
        inputs,
        origins,
        warnings,
    })
}

/// The client certificate's path (relative to the config file when from it); a key file that
/// others may read gets a warning.
fn certificate(
    layers: &Layers,
    origins: &mut BTreeMap<&'static str, Source>,
    warnings: &mut Vec<String>,
) -> Option<PathBuf> {
    let path = pick([
        layers
            .env_str("AZURE_CLIENT_CERTIFICATE_PATH")
            .map(|s| Sourced {
                value: PathBuf::from(s.value),
                source: s.source,
            }),
        layers.in_file(
            layers
                .file
                .client_certificate_path
                .clone()
                .map(|p| layers.relative_to_file(p)),
        ),
    ])
    .map(|s| {
        origins.insert("client_certificate_path", s.source);
        s.value
    });
    if let Some(w) = path
        .as_deref()
        .and_then(|p| shared_secret_warning(p, "a private key"))
    {
        warnings.push(w);
    }

    path
}

/// The access token, the client secret and the certificate's password, each when set.
type Secrets = (Option<Secret>, Option<Secret>, Option<Secret>);

/// The secrets: the access token, the client secret and the certificate's password.
fn read_secrets(
    layers: &Layers,
    origins: &mut BTreeMap<&'static str, Source>,
    warnings: &mut Vec<String>,
) -> Result<Secrets, ConfigError> {
    let file = &layers.file;
    let mut secrets = SecretReader {
        env: &|k| layers.env(k),
        file_path: layers.file_path.as_deref(),
        origins,
        warnings,
    };
    let access_token = secrets.read(
        "access_token",
        ("GWB_ACCESS_TOKEN", "GWB_ACCESS_TOKEN_FILE"),
        None,
        file.access_token_file
            .clone()
            .map(|p| layers.relative_to_file(p)),
    )?;
    let client_secret = secrets.read(
        "client_secret",
        ("AZURE_CLIENT_SECRET", "GWB_CLIENT_SECRET_FILE"),
        file.client_secret.clone(),
        file.client_secret_file
            .clone()
            .map(|p| layers.relative_to_file(p)),
    )?;
    let client_certificate_password = secrets.read(
        "client_certificate_password",
        (
            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
            "GWB_CLIENT_CERTIFICATE_PASSWORD_FILE",
        ),
        file.client_certificate_password.clone(),
        file.client_certificate_password_file
            .clone()
            .map(|p| layers.relative_to_file(p)),
    )?;
    Ok((access_token, client_secret, client_certificate_password))
}

/// Whether an executable `az` is on PATH.
fn az_on_path(layers: &Layers) -> bool {
    let Some(path) = layers.env("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let az = dir.join("az");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&az).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            az.with_extension("cmd").is_file() || az.is_file()
        }
    })
}

/// The kind of credential the inputs present call for, when none is set.
fn inferred(inputs: &AuthInputs, layers: &Layers) -> Option<Sourced<AuthKind>> {
    let (value, why) = if inputs.access_token.is_some() {
        (
            AuthKind::AccessToken,
            "an access token is set (GWB_ACCESS_TOKEN)",
        )
    } else if inputs.client_secret.is_some() {
        (
            AuthKind::ClientSecret,
            "a client secret is set (AZURE_CLIENT_SECRET)",
        )
    } else if inputs.client_certificate.is_some() {
        (
            AuthKind::ClientCertificate,
            "a client certificate is set (AZURE_CLIENT_CERTIFICATE_PATH)",
        )
    } else if inputs.federated_token_file.is_some() {
        (
            AuthKind::WorkloadIdentity,
            "AZURE_FEDERATED_TOKEN_FILE is set",
        )
    } else if layers.env("IDENTITY_ENDPOINT").is_some() || layers.env("MSI_ENDPOINT").is_some() {
        (
            AuthKind::ManagedIdentity,
            "a managed identity endpoint is set (IDENTITY_ENDPOINT)",
        )
    } else if az_on_path(layers) {
        // As DefaultAzureCredential does last: a person at a terminal after `az login`.
        (
            AuthKind::AzureCli,
            "nothing else is configured and the Azure CLI (az) is installed: its signed-in account is used",
        )
    } else {
        return None;
    };
    Some(Sourced {
        value,
        source: Source::Inferred(why),
    })
}
