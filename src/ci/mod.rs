//! The CI front end's pure parts: which CI this is and its zero-config defaults ([`detect`]),
//! action inputs ([`inputs`]), tags derived from git refs with docker/metadata-action's rule
//! syntax ([`tag_rules`] over a [`git_context::GitContext`]), GitHub's file and workflow
//! commands ([`github`]) and annotations ([`annotations`]), the job summary ([`summary`]),
//! the step outputs every CI gets ([`outputs`]) and GitLab's dotenv report ([`dotenv`]).
//!
//! Nothing here reads the process environment: callers pass a [`Variables`] map (the CLI's
//! snapshot). The only I/O is appending to the files GitHub names (`GITHUB_OUTPUT`,
//! `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`). No printing: workflow commands are returned as lines.
//! Depends on nothing but `sbom`'s format names; nothing network-related.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub mod annotations;
pub mod detect;
pub mod dotenv;
pub mod git_context;
pub mod github;
pub mod inputs;
pub mod outputs;
pub mod semver;
pub mod summary;
pub mod tag_rules;
pub mod template;
pub mod vars;

/// A read-only view of environment variables.
pub trait Variables {
    /// The value of `name`, if set.
    fn variable(&self, name: &str) -> Option<&str>;

    /// The value of `name`, if set to something other than the empty string.
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.variable(name).filter(|value| !value.is_empty())
    }
}

impl Variables for BTreeMap<String, String> {
    fn variable(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Variables for HashMap<String, String> {
    fn variable(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Variables for crate::env::Environment {
    fn variable(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

/// A value that must never be shown: its `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it (and for `::add-mask::`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

#[cfg(test)]
pub(crate) fn variables(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(***))");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn empty_values_are_not_non_empty() {
        let map = variables(&[("A", ""), ("B", "x")]);
        assert_eq!(map.variable("A"), Some(""));
        assert_eq!(map.non_empty("A"), None);
        assert_eq!(map.non_empty("B"), Some("x"));
        assert_eq!(map.non_empty("C"), None);
    }
}
