//! Secrets (the access token, the client secret, a certificate's password): from the
//! environment, from a file the environment or the config file names, or from the config file
//! itself, never from flags (visible in `ps`); a file holding one that others may read gets a
//! warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use azure_core::credentials::Secret;

use super::{ConfigError, Source};

/// Reads secrets from where they may be, remembering where each came from.
pub(super) struct SecretReader<'a> {
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) file_path: Option<&'a Path>,
    pub(super) origins: &'a mut BTreeMap<&'static str, Source>,
    pub(super) warnings: &'a mut Vec<String>,
}

impl SecretReader<'_> {
    /// The secret `key`: from the environment (`vars.0` holds it, `vars.1` names a file holding
    /// it), else from the config file (`inline`, or the file at `path`). Two at the same level
    /// are an error: which one was meant is not gwb's guess.
    pub(super) fn read(
        &mut self,
        key: &'static str,
        vars: (&'static str, &'static str),
        inline: Option<String>,
        path: Option<PathBuf>,
    ) -> Result<Option<Secret>, ConfigError> {
        let both = |a: String, b: String| ConfigError::Value {
            name: key.to_string(),
            detail: format!("both {a} and {b} are set; set one"),
        };
        let (value, source) = match ((self.env)(vars.0), (self.env)(vars.1)) {
            (Some(_), Some(_)) => return Err(both(vars.0.into(), vars.1.into())),
            (Some(v), None) => (v, Source::Env(vars.0)),
            (None, Some(p)) => self.read_file(key, PathBuf::from(p), Source::Env(vars.1))?,
            (None, None) => {
                let cfg = self.file_path.map(Path::to_path_buf).unwrap_or_default();
                match (inline, path) {
                    (Some(_), Some(_)) => {
                        return Err(both(
                            format!("{key} in {}", cfg.display()),
                            format!("{key}_file"),
                        ));
                    }
                    (Some(v), None) => {
                        if let Some(w) = shared_secret_warning(&cfg, key) {
                            self.warnings.push(w);
                        }
                        (v, Source::File(cfg))
                    }
                    (None, Some(p)) => self.read_file(key, p, Source::File(cfg))?,
                    (None, None) => return Ok(None),
                }
            }
        };
        self.origins.insert(key, source);
        Ok(Some(Secret::new(value)))
    }

    fn read_file(
        &mut self,
        key: &'static str,
        path: PathBuf,
        named_by: Source,
    ) -> Result<(String, Source), ConfigError> {
        let error = |detail: String| ConfigError::Value {
            name: format!("{key} (file named by {named_by})"),
            detail,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        // Files written by `echo` or editors end in a newline that is not part of the secret.
        let value = text.trim_end_matches(['\n', '\r']).to_string();
        if value.is_empty() {
            return Err(error(format!("{} is empty", path.display())));
        }
        if let Some(w) = shared_secret_warning(&path, key) {
            self.warnings.push(w);
        }
        let source = Source::Contents {
            path,
            named_by: Box::new(named_by),
        };
        Ok((value, source))
    }
}

/// A warning when the file at `path`, which holds `what`, may be read by group or others.
#[cfg(unix)]
pub(super) fn shared_secret_warning(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} holds {what} and may be read by group or others (mode {mode:03o}); restrict it: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub(super) fn shared_secret_warning(_path: &Path, _what: &str) -> Option<String> {
    None
}
