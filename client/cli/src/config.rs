//! Profiles: a server and a key under a name, in one TOML file only its owner can read.
//!
//! The file is `$MARKETPLACE_CONFIG`, else `~/.config/marketplace/config.toml` (the platform's
//! config directory). It is written with mode 0600 (a directory made for it 0700) on every
//! save, so a key is never readable by another user, even when the file existed with looser
//! permissions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// One server and the key used there.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Profile {
    /// `http://127.0.0.1:8080`.
    pub(crate) server: String,
    /// The API key.
    pub(crate) api_key: String,
}

/// The whole file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Config {
    /// The profile used without `--profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// Where the file is.
pub(crate) fn path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("MARKETPLACE_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    let dir = dirs::config_dir().context("no home directory to keep the configuration in")?;
    Ok(dir.join("marketplace").join("config.toml"))
}

impl Config {
    /// The file's profiles (none when there is no file yet).
    pub(crate) fn load() -> Result<Self> {
        let path = path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file, readable by its owner only.
    pub(crate) fn save(&self) -> Result<PathBuf> {
        use std::io::Write;
        let path = path()?;
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            // A directory made for it is its owner's alone; an existing one is left as it is.
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            restrict(dir, 0o700)?;
        }
        let text = toml::to_string(self).context("encoding the configuration")?;
        // Written beside and renamed over, so a crash leaves the old file or the new one.
        let tmp = path.with_extension("toml.tmp");
        {
            let mut f = create_private(&tmp)?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", tmp.display()))?;
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        restrict(&path, 0o600)?;
        Ok(path)
    }

    /// The profile called `name`, else the default one.
    pub(crate) fn profile(&self, name: Option<&str>) -> Result<(String, Profile)> {
        let name = match name.or(self.default.as_deref()) {
            Some(n) => n.to_owned(),
            None if self.profiles.len() == 1 => {
                self.profiles.keys().next().cloned().unwrap_or_default()
            }
            None => bail!(
                "not logged in: run `marketplace login --server URL` (or `marketplace signup NAME --server URL`)"
            ),
        };
        match self.profiles.get(&name) {
            Some(p) => Ok((name, p.clone())),
            None => {
                bail!("no profile {name:?}: run `marketplace --profile {name} login --server URL`")
            }
        }
    }
}

#[cfg(unix)]
fn create_private(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn create_private(path: &std::path::Path) -> Result<std::fs::File> {
    std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn restrict(path: &std::path::Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("restricting {}", path.display()))
}

#[cfg(not(unix))]
fn restrict(_: &std::path::Path, _: u32) -> Result<()> {
    Ok(())
}
