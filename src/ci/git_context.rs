//! What a CI run says about git: the event, the ref (branch, tag or pull request), the commit,
//! the default branch and the clock. Tag rules ([`super::tag_rules`]) are evaluated against it.
//! Built from GitHub Actions' variables and event payload, or from GitLab CI's predefined
//! variables, so the same rules give the same tags on both. Pure: the caller reads the payload.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::Variables;
use super::template::{Expression, Template, TemplateError, format_date, parse_timestamp, utc_offset};
use super::vars::{
    CI_COMMIT_BRANCH, CI_COMMIT_REF_NAME, CI_COMMIT_REF_SLUG, CI_COMMIT_SHA, CI_COMMIT_TAG, CI_COMMIT_TIMESTAMP,
    CI_DEFAULT_BRANCH, CI_MERGE_REQUEST_IID, CI_MERGE_REQUEST_SOURCE_BRANCH_SHA, CI_MERGE_REQUEST_TARGET_BRANCH_NAME,
    CI_PIPELINE_SOURCE, GITHUB_BASE_REF, GITHUB_EVENT_NAME, GITHUB_HEAD_REF, GITHUB_REF, GITHUB_SHA,
};

/// The ref a run is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitRef {
    /// `refs/heads/<name>`.
    Branch(String),
    /// `refs/tags/<name>`.
    Tag(String),
    /// `refs/pull/<number>/merge` (GitHub) or a merge request pipeline (GitLab).
    PullRequest(u64),
    /// Any other ref, kept as given.
    Other(String),
    /// No ref known.
    None,
}

impl GitRef {
    /// Classify a full ref name.
    pub fn parse(full: &str) -> GitRef {
        if let Some(branch) = full.strip_prefix("refs/heads/") {
            GitRef::Branch(branch.to_owned())
        } else if let Some(tag) = full.strip_prefix("refs/tags/") {
            GitRef::Tag(tag.to_owned())
        } else if let Some(rest) = full.strip_prefix("refs/pull/") {
            let number = rest.strip_suffix("/merge").or_else(|| rest.strip_suffix("/head")).unwrap_or(rest);
            number.parse().map_or_else(|_| GitRef::Other(full.to_owned()), GitRef::PullRequest)
        } else if full.is_empty() {
            GitRef::None
        } else {
            GitRef::Other(full.to_owned())
        }
    }

    pub fn branch(&self) -> Option<&str> {
        match self {
            GitRef::Branch(branch) => Some(branch),
            _ => None,
        }
    }

    pub fn tag(&self) -> Option<&str> {
        match self {
            GitRef::Tag(tag) => Some(tag),
            _ => None,
        }
    }
}

/// The pull (or merge) request a run is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The head commit of the request's source branch (not the merge commit CI builds).
    pub head_sha: Option<String>,
    /// The source branch.
    pub head_ref: Option<String>,
    /// The target branch.
    pub base_ref: Option<String>,
}

/// Everything tag rules can ask about a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitContext {
    /// GitHub's event name (`push`, `pull_request`, `schedule`, ...); GitLab pipelines are
    /// mapped onto the same names (`merge_request_event` → `pull_request`).
    pub event_name: String,
    pub git_ref: GitRef,
    /// The commit images are tagged for: on pull requests the head commit, not the merge commit.
    pub sha: String,
    pub pull_request: Option<PullRequest>,
    pub default_branch: Option<String>,
    /// `{{base_ref}}`: the branch a tag was pushed from, or a pull request's target.
    pub base_ref: Option<String>,
    /// The clock for `{{date}}` (Unix seconds).
    pub now: i64,
    /// The commit's time for `{{commit_date}}` (Unix seconds), when the CI says.
    pub commit_time: Option<i64>,
}

/// An event payload that is not what GitHub writes.
#[derive(Debug, thiserror::Error)]
#[error("the GitHub event payload (`GITHUB_EVENT_PATH`) is not valid JSON: {0}")]
pub struct PayloadError(#[from] serde_json::Error);

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(duration) => i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |value, key| value.get(key))?.as_str().filter(|text| !text.is_empty())
}

fn number(value: &Value, path: &[&str]) -> Option<u64> {
    path.iter().try_fold(value, |value, key| value.get(key))?.as_u64()
}

impl GitContext {
    /// A context with nothing known but the clock (for tests and non-CI runs).
    pub fn empty(now: SystemTime) -> GitContext {
        GitContext {
            event_name: String::new(),
            git_ref: GitRef::None,
            sha: String::new(),
            pull_request: None,
            default_branch: None,
            base_ref: None,
            now: unix_seconds(now),
            commit_time: None,
        }
    }

    /// From GitHub Actions: `GITHUB_EVENT_NAME`, `GITHUB_REF`, `GITHUB_SHA`, `GITHUB_HEAD_REF`,
    /// `GITHUB_BASE_REF`, and the event payload (the text of `GITHUB_EVENT_PATH`) for the pull
    /// request's number and head commit, the default branch and the commit time.
    pub fn from_github(
        variables: &impl Variables,
        payload: Option<&str>,
        now: SystemTime,
    ) -> Result<GitContext, PayloadError> {
        let payload: Value = match payload.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => serde_json::from_str(text)?,
            None => Value::Null,
        };
        let event_name = variables.non_empty(GITHUB_EVENT_NAME).unwrap_or_default().to_owned();
        let pull_request_number =
            number(&payload, &["pull_request", "number"]).or_else(|| number(&payload, &["number"]));
        let mut git_ref = GitRef::parse(variables.non_empty(GITHUB_REF).unwrap_or_default());
        // pull_request_target runs on the base branch's ref; tags describe the pull request.
        if event_name == "pull_request_target"
            && let Some(number) = pull_request_number
        {
            git_ref = GitRef::PullRequest(number);
        }
        let pull_request = match &git_ref {
            GitRef::PullRequest(number) => Some(PullRequest {
                number: *number,
                head_sha: text(&payload, &["pull_request", "head", "sha"]).map(str::to_owned),
                head_ref: variables
                    .non_empty(GITHUB_HEAD_REF)
                    .or_else(|| text(&payload, &["pull_request", "head", "ref"]))
                    .map(str::to_owned),
                base_ref: variables
                    .non_empty(GITHUB_BASE_REF)
                    .or_else(|| text(&payload, &["pull_request", "base", "ref"]))
                    .map(str::to_owned),
            }),
            _ => None,
        };
        let sha = pull_request
            .as_ref()
            .and_then(|pull_request| pull_request.head_sha.clone())
            .or_else(|| variables.non_empty(GITHUB_SHA).map(str::to_owned))
            .unwrap_or_default();
        let base_ref = match &git_ref {
            GitRef::Tag(_) => {
                text(&payload, &["base_ref"]).map(|base| base.trim_start_matches("refs/heads/").to_owned())
            }
            GitRef::PullRequest(_) => pull_request.as_ref().and_then(|pull_request| pull_request.base_ref.clone()),
            _ => None,
        };
        let commit_time = commit_time_from_payload(&payload, &sha);
        Ok(GitContext {
            event_name,
            git_ref,
            sha,
            pull_request,
            default_branch: text(&payload, &["repository", "default_branch"]).map(str::to_owned),
            base_ref,
            now: unix_seconds(now),
            commit_time,
        })
    }

    /// From GitLab CI's predefined variables: a tag pipeline (`CI_COMMIT_TAG`), a merge request
    /// pipeline (`CI_MERGE_REQUEST_IID`), or a branch pipeline (`CI_COMMIT_BRANCH`, else
    /// `CI_COMMIT_REF_NAME`, else `CI_COMMIT_REF_SLUG`); `CI_PIPELINE_SOURCE` gives the event.
    pub fn from_gitlab(variables: &impl Variables, now: SystemTime) -> GitContext {
        let source = variables.non_empty(CI_PIPELINE_SOURCE).unwrap_or("push");
        let merge_request = variables.non_empty(CI_MERGE_REQUEST_IID).and_then(|iid| iid.parse::<u64>().ok());
        let owned = |name| variables.non_empty(name).map(str::to_owned);
        let (git_ref, pull_request) = if let Some(tag) = variables.non_empty(CI_COMMIT_TAG) {
            (GitRef::Tag(tag.to_owned()), None)
        } else if let Some(number) = merge_request {
            let pull_request = PullRequest {
                number,
                head_sha: owned(CI_MERGE_REQUEST_SOURCE_BRANCH_SHA).or_else(|| owned(CI_COMMIT_SHA)),
                head_ref: owned(CI_COMMIT_REF_NAME),
                base_ref: owned(CI_MERGE_REQUEST_TARGET_BRANCH_NAME),
            };
            (GitRef::PullRequest(number), Some(pull_request))
        } else {
            let branch = variables
                .non_empty(CI_COMMIT_BRANCH)
                .or_else(|| variables.non_empty(CI_COMMIT_REF_NAME))
                .or_else(|| variables.non_empty(CI_COMMIT_REF_SLUG));
            (branch.map_or(GitRef::None, |branch| GitRef::Branch(branch.to_owned())), None)
        };
        let event_name = match source {
            "merge_request_event" | "external_pull_request_event" => "pull_request",
            other => other,
        };
        let sha = pull_request
            .as_ref()
            .and_then(|pull_request| pull_request.head_sha.clone())
            .or_else(|| owned(CI_COMMIT_SHA))
            .unwrap_or_default();
        let base_ref = pull_request.as_ref().and_then(|pull_request| pull_request.base_ref.clone());
        GitContext {
            event_name: event_name.to_owned(),
            git_ref,
            sha,
            pull_request,
            default_branch: owned(CI_DEFAULT_BRANCH),
            base_ref,
            now: unix_seconds(now),
            commit_time: variables.non_empty(CI_COMMIT_TIMESTAMP).and_then(parse_timestamp),
        }
    }

    /// Whether the run is for the default branch, as metadata-action's `{{is_default_branch}}`
    /// decides: the branch is the default one, or the event always runs there (`schedule`,
    /// `create`, `discussion`, `issues`) on a branch ref.
    pub fn is_default_branch(&self) -> bool {
        let Some(branch) = self.git_ref.branch().filter(|branch| !branch.is_empty()) else {
            return false;
        };
        self.default_branch.as_deref() == Some(branch)
            || ["create", "discussion", "issues", "schedule"].iter().any(|event| self.event_name.contains(event))
    }

    /// Whether this is a scheduled run.
    pub fn is_schedule(&self) -> bool {
        self.event_name.contains("schedule")
    }
}

/// The commit's time from a push payload: `commits[]` or `head_commit` with the commit's id.
fn commit_time_from_payload(payload: &Value, sha: &str) -> Option<i64> {
    let commits = payload.get("commits").and_then(Value::as_array).into_iter().flatten();
    let head = payload.get("head_commit").into_iter();
    commits
        .chain(head)
        .find(|commit| commit.get("id").and_then(Value::as_str) == Some(sha))
        .and_then(|commit| text(commit, &["timestamp"]))
        .and_then(parse_timestamp)
}

fn date_expression(expression: &Expression, time: i64) -> Result<String, TemplateError> {
    let format = match expression.arguments.as_slice() {
        [format] => format,
        _ => return Err(TemplateError(format!("`{{{{{} 'format'}}}}` takes one quoted format", expression.name))),
    };
    let mut offset = 0;
    for (key, value) in &expression.options {
        match key.as_str() {
            "tz" => offset = utc_offset(value)?,
            other => {
                return Err(TemplateError(format!("`{other}=` is not an option of `{}`; use `tz=`", expression.name)));
            }
        }
    }
    format_date(time, offset, format)
}

pub(crate) fn dates(expression: &Expression, context: &GitContext) -> Result<String, TemplateError> {
    match expression.name.as_str() {
        "date" => date_expression(expression, context.now),
        _ => date_expression(expression, context.commit_time.unwrap_or(context.now)),
    }
}

/// Render a template with metadata-action's global expressions.
pub(crate) fn global(template: &Template, context: &GitContext) -> Result<String, TemplateError> {
    template.render(|expression| {
        Ok(match expression.name.as_str() {
            "branch" => context.git_ref.branch().unwrap_or_default().to_owned(),
            "tag" => context.git_ref.tag().unwrap_or_default().to_owned(),
            "sha" => super::tag_rules::short_sha(&context.sha),
            "base_ref" => context.base_ref.clone().unwrap_or_default(),
            "is_default_branch" => context.is_default_branch().to_string(),
            _ => dates(expression, context)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::variables;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(seconds)
    }

    #[test]
    fn classifies_refs() {
        assert_eq!(GitRef::parse("refs/heads/my/branch"), GitRef::Branch("my/branch".to_owned()));
        assert_eq!(GitRef::parse("refs/tags/v1.2.3"), GitRef::Tag("v1.2.3".to_owned()));
        assert_eq!(GitRef::parse("refs/pull/2/merge"), GitRef::PullRequest(2));
        assert_eq!(GitRef::parse("refs/pull/x/merge"), GitRef::Other("refs/pull/x/merge".to_owned()));
        assert_eq!(GitRef::parse(""), GitRef::None);
    }

    #[test]
    fn github_pull_requests_use_the_head_commit_from_the_payload() {
        let env = variables(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            ("GITHUB_SHA", "mergecommit0000000000000000000000000000000"),
            ("GITHUB_HEAD_REF", "feature/x"),
        ]);
        let payload = r#"{"number": 42, "pull_request": {"number": 42, "head": {"sha": "headcommit1111", "ref": "feature/x"},
            "base": {"ref": "main"}}, "repository": {"default_branch": "main"}}"#;
        let context = GitContext::from_github(&env, Some(payload), at(0)).unwrap();
        assert_eq!(context.git_ref, GitRef::PullRequest(42));
        assert_eq!(context.sha, "headcommit1111");
        let pull_request = context.pull_request.unwrap();
        assert_eq!(pull_request.head_ref.as_deref(), Some("feature/x"));
        assert_eq!(context.base_ref.as_deref(), Some("main"));
        assert_eq!(context.default_branch.as_deref(), Some("main"));
    }

    #[test]
    fn github_pull_request_target_describes_the_pull_request() {
        let env = variables(&[("GITHUB_EVENT_NAME", "pull_request_target"), ("GITHUB_REF", "refs/heads/main")]);
        let payload = r#"{"number": 7, "pull_request": {"number": 7, "head": {"sha": "abc"}}}"#;
        let context = GitContext::from_github(&env, Some(payload), at(0)).unwrap();
        assert_eq!(context.git_ref, GitRef::PullRequest(7));
        assert_eq!(context.sha, "abc");
    }

    #[test]
    fn github_push_reads_the_commit_time_and_refuses_broken_payloads() {
        let env = variables(&[("GITHUB_EVENT_NAME", "push"), ("GITHUB_REF", "refs/tags/v1"), ("GITHUB_SHA", "c1")]);
        let payload =
            r#"{"base_ref": "refs/heads/main", "head_commit": {"id": "c1", "timestamp": "1970-01-02T00:00:00Z"}}"#;
        let context = GitContext::from_github(&env, Some(payload), at(5)).unwrap();
        assert_eq!((context.commit_time, context.now), (Some(86_400), 5));
        assert_eq!(context.base_ref.as_deref(), Some("main"));
        let error = GitContext::from_github(&env, Some("{not json"), at(0)).unwrap_err();
        assert!(error.to_string().contains("GITHUB_EVENT_PATH"), "{error}");
        assert!(GitContext::from_github(&env, None, at(0)).is_ok());
    }

    #[test]
    fn gitlab_pipelines_map_onto_the_same_context() {
        let tag = variables(&[("CI_COMMIT_TAG", "v1.2.3"), ("CI_COMMIT_REF_NAME", "v1.2.3"), ("CI_COMMIT_SHA", "s")]);
        assert_eq!(GitContext::from_gitlab(&tag, at(0)).git_ref, GitRef::Tag("v1.2.3".to_owned()));

        let merge_request = variables(&[
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_IID", "12"),
            ("CI_COMMIT_REF_NAME", "feature"),
            ("CI_COMMIT_SHA", "merged"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "head"),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
        ]);
        let context = GitContext::from_gitlab(&merge_request, at(0));
        assert_eq!((context.event_name.as_str(), &context.git_ref), ("pull_request", &GitRef::PullRequest(12)));
        assert_eq!(context.sha, "head");
        assert_eq!(context.base_ref.as_deref(), Some("main"));

        let schedule = variables(&[
            ("CI_PIPELINE_SOURCE", "schedule"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_DEFAULT_BRANCH", "main"),
            ("CI_COMMIT_TIMESTAMP", "1970-01-01T01:00:00+00:00"),
        ]);
        let context = GitContext::from_gitlab(&schedule, at(0));
        assert!(context.is_schedule() && context.is_default_branch());
        assert_eq!(context.commit_time, Some(3600));

        let slug_only = variables(&[("CI_COMMIT_REF_SLUG", "feature-x")]);
        assert_eq!(GitContext::from_gitlab(&slug_only, at(0)).git_ref, GitRef::Branch("feature-x".to_owned()));
    }

    #[test]
    fn default_branch_follows_metadata_action() {
        let mut context = GitContext::empty(at(0));
        context.git_ref = GitRef::Branch("main".to_owned());
        context.default_branch = Some("main".to_owned());
        assert!(context.is_default_branch());
        context.git_ref = GitRef::Branch("dev".to_owned());
        assert!(!context.is_default_branch());
        context.event_name = "schedule".to_owned();
        assert!(context.is_default_branch());
        context.git_ref = GitRef::Tag("v1".to_owned());
        assert!(!context.is_default_branch());
    }
}
