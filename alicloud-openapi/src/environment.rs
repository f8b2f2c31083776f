//! The process environment as the client sees it: variables, the home directory and files. Behind a
//! trait so that loaders can be tested from a map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where settings and credentials are read from.
pub trait Environment: Send + Sync {
    /// An environment variable; empty values count as unset.
    fn var(&self, name: &str) -> Option<String>;
    /// The user's home directory.
    fn home_dir(&self) -> Option<PathBuf>;
    /// A file's contents; `Ok(None)` when it does not exist.
    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>>;
    /// An owned handle on this environment, for sources that read it again after Configure (an OIDC token
    /// file is read at every refresh, as the platform rotates it).
    fn to_shared(&self) -> Arc<dyn Environment>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn to_shared(&self) -> Arc<dyn Environment> {
        Arc::new(*self)
    }
}

/// An environment made of maps, for tests.
#[derive(Debug, Clone, Default)]
pub struct MapEnvironment {
    /// Variables.
    pub vars: HashMap<String, String>,
    /// Files by path.
    pub files: HashMap<PathBuf, String>,
    /// The home directory.
    pub home: Option<PathBuf>,
}

impl MapEnvironment {
    /// An environment with these variables and home `/home/test`.
    pub fn with_vars(vars: &[(&str, &str)]) -> Self {
        MapEnvironment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            files: HashMap::new(),
            home: Some(PathBuf::from("/home/test")),
        }
    }

    /// Adds a file.
    pub fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(PathBuf::from(path), text.to_string());
        self
    }
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.home.clone()
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Option<String>> {
        Ok(self.files.get(path).cloned())
    }

    fn to_shared(&self) -> Arc<dyn Environment> {
        Arc::new(self.clone())
    }
}
