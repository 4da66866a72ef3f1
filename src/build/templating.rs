//! The data ko's `flags`/`ldflags` templates see (`.Env`, `.GoEnv`, `.Date`, `.Timestamp`,
//! `.Git.*`) and their expansion. `go env` and `git` run only when a template refers to them,
//! and at most once per run (per directory for git). Unlike ko, `.Date` is always UTC.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::sync::{Mutex, OnceCell};

use super::{BuildError, go};
use crate::gotemplate::{Template, Value, is_template};
use crate::image::gotime::Time;

pub struct Templating {
    go: PathBuf,
    process: Vec<(OsString, OsString)>,
    working_directory: PathBuf,
    date: String,
    timestamp: i64,
    go_env: OnceCell<Result<BTreeMap<String, String>, String>>,
    git: Mutex<HashMap<PathBuf, Value>>,
}

impl Templating {
    /// `now` is `SOURCE_DATE_EPOCH` when set, else the current time.
    pub fn new(go: PathBuf, process: Vec<(OsString, OsString)>, working_directory: PathBuf, now: Time) -> Templating {
        Templating {
            go,
            process,
            working_directory,
            date: now.to_string(),
            timestamp: now.unix(),
            go_env: OnceCell::new(),
            git: Mutex::new(HashMap::new()),
        }
    }

    /// Expand each entry; `place` names where the entries came from, for errors.
    pub async fn expand(
        &self,
        entries: &[String],
        place: &str,
        environment: &BTreeMap<String, String>,
        directory: &Path,
    ) -> Result<Vec<String>, BuildError> {
        let mut expanded = Vec::with_capacity(entries.len());
        for entry in entries {
            if !is_template(entry) {
                expanded.push(entry.clone());
                continue;
            }
            let error =
                |message: String| BuildError::Template { template: entry.clone(), place: place.to_owned(), message };
            let template = Template::parse(entry).map_err(|e| error(e.to_string()))?;
            let mut data = BTreeMap::new();
            let mut env: BTreeMap<String, Value> =
                BTreeMap::from([("LDFLAGS".to_owned(), Value::String(String::new()))]);
            env.extend(environment.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))));
            if template.may_reference("GoEnv") {
                let go_env = self.go_env().await.map_err(error)?;
                let mut map: BTreeMap<String, Value> =
                    go_env.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
                for (key, value) in environment {
                    if map.contains_key(key) {
                        map.insert(key.clone(), Value::String(value.clone()));
                    }
                }
                data.insert("GoEnv".to_owned(), Value::Map(map));
            }
            if template.may_reference("Git") {
                data.insert("Git".to_owned(), self.git(directory).await);
            }
            data.insert("Env".to_owned(), Value::Map(env));
            data.insert("Date".to_owned(), Value::String(self.date.clone()));
            data.insert("Timestamp".to_owned(), Value::Int(self.timestamp));
            expanded.push(template.execute(&Value::Map(data)).map_err(|e| error(e.to_string()))?);
        }
        Ok(expanded)
    }

    async fn go_env(&self) -> Result<&BTreeMap<String, String>, String> {
        self.go_env
            .get_or_init(|| async {
                go::go_env(&self.go, &self.working_directory, &self.process).await.map_err(|e| e.to_string())
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn git(&self, directory: &Path) -> Value {
        let mut cache = self.git.lock().await;
        if let Some(value) = cache.get(directory) {
            return value.clone();
        }
        let value = git_info(directory).await;
        cache.insert(directory.to_owned(), value.clone());
        value
    }
}

/// ko's git template data; outside a repository (or without git) every string is empty and
/// the tree counts as clean.
async fn git_info(directory: &Path) -> Value {
    let run = |arguments: &'static [&'static str]| async move {
        let output = tokio::process::Command::new("git")
            .args(arguments)
            .current_dir(directory)
            .stdin(Stdio::null())
            .output()
            .await
            .ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let full_commit = run(&["rev-parse", "HEAD"]).await.unwrap_or_default();
    let in_repository = !full_commit.is_empty();
    let text = |value: Option<String>| Value::String(value.unwrap_or_default());
    let status = if in_repository { run(&["status", "--porcelain"]).await.unwrap_or_default() } else { String::new() };
    let dirty = !status.is_empty();
    let commit_unix: Option<i64> = if in_repository {
        run(&["show", "-s", "--format=%ct", "HEAD"]).await.and_then(|text| text.parse().ok())
    } else {
        None
    };
    let tag = if in_repository {
        run(&["describe", "--tags", "--abbrev=0", "HEAD"]).await.or(Some("v0.0.0".into()))
    } else {
        None
    };
    Value::Map(BTreeMap::from([
        (
            "Branch".to_owned(),
            text(if in_repository { run(&["rev-parse", "--abbrev-ref", "HEAD"]).await } else { None }),
        ),
        ("Tag".to_owned(), text(tag)),
        (
            "ShortCommit".to_owned(),
            text(if in_repository { run(&["rev-parse", "--short", "HEAD"]).await } else { None }),
        ),
        ("FullCommit".to_owned(), Value::String(full_commit)),
        ("CommitDate".to_owned(), text(commit_unix.map(|unix| Time::from_unix(unix).to_string()))),
        ("CommitTimestamp".to_owned(), commit_unix.map_or(Value::String(String::new()), Value::Int)),
        ("IsDirty".to_owned(), Value::Bool(dirty)),
        ("IsClean".to_owned(), Value::Bool(!dirty)),
        ("TreeState".to_owned(), Value::String(if dirty { "dirty" } else { "clean" }.into())),
    ]))
}
