//! Tag rule parsing errors, and the table of runs against metadata-action's documented tags.

use super::*;

fn problem(rules: &str) -> (usize, Problem) {
    let error = TagRules::parse(rules).unwrap_err();
    (error.line, error.problem)
}

#[test]
fn splits_fields_with_quotes() {
    assert_eq!(fields("type=raw, value=a").unwrap(), ["type=raw", "value=a"]);
    assert_eq!(fields(r#"type=raw,"value=a,b""#).unwrap(), ["type=raw", "value=a,b"]);
    assert_eq!(fields(r#""say ""hi""",x"#).unwrap(), [r#"say "hi""#, "x"]);
    assert_eq!(fields(r#""open"#), Err(Problem::UnclosedQuote));
}

#[test]
fn bad_rules_name_the_line_and_the_rule() {
    let error = TagRules::parse("# comment\ntype=ref,event=branch\n\ntype=bogus").unwrap_err();
    assert_eq!(error.line, 4);
    assert_eq!(error.problem, Problem::UnknownType("bogus".to_owned()));
    assert_eq!(
        error.to_string(),
        "tag rule on line 4 (`type=bogus`): unknown type `bogus`; use schedule, semver, edge, ref, raw or sha"
    );
    assert_eq!(problem("type=raw"), (1, Problem::MissingAttribute { attribute: "value", hint: "add `value=<tag>`" }));
    assert!(matches!(problem("type=ref"), (1, Problem::MissingAttribute { attribute: "event", .. })));
    assert!(matches!(problem("type=ref,event=push"), (1, Problem::InvalidValue { .. })));
    assert!(matches!(problem("type=semver"), (1, Problem::MissingAttribute { attribute: "pattern", .. })));
    assert!(matches!(problem("type=sha,format=medium"), (1, Problem::InvalidValue { .. })));
    assert!(matches!(problem("type=sha,priority=high"), (1, Problem::InvalidValue { .. })));
    assert!(matches!(problem("type=sha,enable=yes"), (1, Problem::InvalidValue { .. })));
    assert!(matches!(problem("type=ref,evnet=branch"), (1, Problem::UnknownAttribute { .. })));
    assert!(matches!(problem("type=match,pattern=v(.*)"), (1, Problem::UnsupportedType(_))));
    assert!(matches!(problem("type=raw,value={{brnach}}"), (1, Problem::Template(_))));
    assert!(matches!(problem("type=semver,pattern={{branch}}"), (1, Problem::Template(_))));
    assert!(matches!(problem("type=raw,\"value=a"), (1, Problem::UnclosedQuote)));
}

#[test]
fn bare_fields_are_raw_values_and_keys_are_case_insensitive() {
    let rules = TagRules::parse("foo\nType=raw,VALUE=bar,").unwrap();
    let context = GitContext::empty(std::time::UNIX_EPOCH);
    assert_eq!(rules.evaluate(&context).unwrap().tags, ["foo", "bar"]);
}

#[test]
fn flavor_lines_parse_and_refuse_unknown_keys() {
    let flavor = Flavor::parse("latest=false\nprefix=app-,onlatest=true\nsuffix=-x").unwrap();
    assert_eq!(flavor.latest, Latest::Never);
    assert!(flavor.prefix_latest && !flavor.suffix_latest);
    let error = Flavor::parse("latest=sometimes").unwrap_err();
    assert_eq!(error.what, "flavor");
    assert!(error.to_string().contains("`auto`, `true` or `false`"), "{error}");
    assert!(Flavor::parse("labelprefix=x").is_err());
    assert!(Flavor::parse("onlatest=true").is_err());
}

#[test]
fn sanitizes_like_metadata_action() {
    assert_eq!(sanitize("my/branch"), "my-branch");
    assert_eq!(sanitize("feat//x y"), "feat-x-y");
    assert_eq!(sanitize("v1.2.3+build.5"), "v1.2.3-build.5");
    assert_eq!(sanitize(&"a".repeat(200)).len(), 128);
    assert_eq!(sanitize("ünïcode"), "-n-code");
}

// The table: GitHub runs built with `GitContext::from_github` from the variables and payload
// the runner gives, and the tags metadata-action documents for the same rules.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ci::variables;

const SHA: &str = "860c1904a1ce19322e91ac35af1ab07466440c37";
const MERGE_SHA: &str = "ffffffffffffffffffffffffffffffffffffffff";
const HEAD_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// 2021-03-26T03:00:00Z, the day of the README's `{{date 'YYYYMMDD'}}` example.
fn clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_616_727_600)
}

/// A GitHub run: `event` and `git_ref` as the runner sets them; pull requests carry their head
/// commit in the payload and `GITHUB_SHA` is the merge commit.
fn github(event: &str, git_ref: &str) -> GitContext {
    let pull_request = git_ref.strip_prefix("refs/pull/").and_then(|rest| rest.strip_suffix("/merge"));
    let sha = if pull_request.is_some() { MERGE_SHA } else { SHA };
    let env = variables(&[("GITHUB_EVENT_NAME", event), ("GITHUB_REF", git_ref), ("GITHUB_SHA", sha)]);
    let payload = match pull_request {
        Some(number) => format!(
            r#"{{"number": {number}, "pull_request": {{"number": {number}, "head": {{"sha": "{HEAD_SHA}"}}}},
                "repository": {{"default_branch": "main"}}}}"#
        ),
        None => r#"{"repository": {"default_branch": "main"}}"#.to_owned(),
    };
    GitContext::from_github(&env, Some(&payload), clock()).unwrap()
}

fn tags(rules: &str, context: &GitContext) -> Vec<String> {
    TagRules::parse(rules).unwrap().evaluate(context).unwrap().tags
}

fn check(rules: &str, rows: &[(&str, &str, &[&str])]) {
    for (event, git_ref, expected) in rows {
        assert_eq!(tags(rules, &github(event, git_ref)), *expected, "{event} {git_ref} with\n{rules}");
    }
}

#[test]
fn readme_basic_example_uses_the_default_rules() {
    // README "Basic": no `tags` input, so type=schedule, ref branch, ref tag, ref pr.
    check(
        "",
        &[
            ("pull_request", "refs/pull/2/merge", &["pr-2"]),
            ("push", "refs/heads/master", &["master"]),
            ("push", "refs/heads/releases/v1", &["releases-v1"]),
            ("push", "refs/tags/v1.2.3", &["v1.2.3", "latest"]),
            ("push", "refs/tags/v2.0.8-beta.67", &["v2.0.8-beta.67", "latest"]),
            // `type=schedule` defaults to `pattern=nightly`; schedules run on the default branch.
            ("schedule", "refs/heads/main", &["nightly", "main"]),
        ],
    );
}

#[test]
fn readme_semver_example() {
    // README "Semver": ref branch, ref pr, semver {{version}} and {{major}}.{{minor}}.
    check(
        "type=ref,event=branch\ntype=ref,event=pr\ntype=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}",
        &[
            ("pull_request", "refs/pull/2/merge", &["pr-2"]),
            ("push", "refs/heads/master", &["master"]),
            ("push", "refs/heads/releases/v1", &["releases-v1"]),
            ("push", "refs/tags/v1.2.3", &["1.2.3", "1.2", "latest"]),
            // A pre-release only extends {{version}}, and gets no `latest`.
            ("push", "refs/tags/v2.0.8-beta.67", &["2.0.8-beta.67"]),
        ],
    );
}

const FULL_RULES: &str = "\
# README `tags` input example, with edge and a branch-latest from README \"Latest tag\"
type=schedule,pattern={{date 'YYYYMMDD'}}
type=ref,event=branch
type=ref,event=pr
type=semver,pattern={{version}}
type=semver,pattern={{major}}.{{minor}}
type=semver,pattern={{major}}
type=sha
type=edge,branch=main
type=raw,value=latest,enable={{is_default_branch}}
";

#[test]
fn every_kind_of_run_against_the_full_rule_set() {
    check(
        FULL_RULES,
        &[
            // Push to a branch: the sanitized branch and the short commit (README type=ref, type=sha).
            ("push", "refs/heads/feature/x", &["feature-x", "sha-860c190"]),
            // Push to the default branch: edge (priority 700) first, then the branch, then the
            // raw `latest` enabled by {{is_default_branch}}.
            ("push", "refs/heads/main", &["edge", "main", "latest", "sha-860c190"]),
            // README type=semver table for v1.2.3; `latest` (latest=auto) comes last.
            ("push", "refs/tags/v1.2.3", &["1.2.3", "1.2", "1", "sha-860c190", "latest"]),
            // A pre-release: only {{version}}, no `latest` (README type=semver footnote).
            ("push", "refs/tags/v2.0.0-rc.1", &["2.0.0-rc.1", "sha-860c190"]),
            // A pull request: pr-<n>, and the head commit from the payload, not the merge commit.
            ("pull_request", "refs/pull/42/merge", &["pr-42", "sha-0123456"]),
            // A schedule on the default branch: the date pattern (README type=schedule) first.
            ("schedule", "refs/heads/main", &["20210326", "edge", "main", "latest", "sha-860c190"]),
        ],
    );
}

#[test]
fn gitlab_pipelines_give_the_same_tags_as_github_runs() {
    let gitlab = |pairs: &[(&str, &str)]| GitContext::from_gitlab(&variables(pairs), clock());
    let base = [("CI_COMMIT_SHA", SHA), ("CI_DEFAULT_BRANCH", "main")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = base.to_vec();
        pairs.extend_from_slice(extra);
        gitlab(&pairs)
    };
    let rows = [
        (with(&[("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_BRANCH", "feature/x")]), "refs/heads/feature/x"),
        (with(&[("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_BRANCH", "main")]), "refs/heads/main"),
        (with(&[("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_TAG", "v1.2.3")]), "refs/tags/v1.2.3"),
        (with(&[("CI_PIPELINE_SOURCE", "push"), ("CI_COMMIT_TAG", "v2.0.0-rc.1")]), "refs/tags/v2.0.0-rc.1"),
        (with(&[("CI_PIPELINE_SOURCE", "schedule"), ("CI_COMMIT_BRANCH", "main")]), "refs/heads/main"),
    ];
    for (context, git_ref) in rows {
        let event = if context.is_schedule() { "schedule" } else { "push" };
        assert_eq!(tags(FULL_RULES, &context), tags(FULL_RULES, &github(event, git_ref)), "{git_ref}");
    }
    let merge_request = gitlab(&[
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_IID", "42"),
        ("CI_COMMIT_SHA", MERGE_SHA),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD_SHA),
    ]);
    assert_eq!(tags(FULL_RULES, &merge_request), ["pr-42", "sha-0123456"]);
}

#[test]
fn per_rule_prefix_suffix_and_sha_formats() {
    let branch = github("push", "refs/heads/main");
    // README type=sha: `format=long`; an empty `prefix=` drops `sha-`.
    assert_eq!(tags("type=sha,format=long", &branch), [format!("sha-{SHA}")]);
    assert_eq!(tags("type=sha,prefix=", &branch), ["860c190"]);
    assert_eq!(tags("type=ref,event=branch,prefix=br-,suffix=-{{sha}}", &branch), ["br-main-860c190"]);
    // README "Global expressions": branch and sha in a raw value.
    assert_eq!(tags("type=raw,value=mytag-{{branch}}-{{sha}}", &branch), ["mytag-main-860c190"]);
    assert_eq!(tags("type=ref,event=pr,prefix=pull-", &github("pull_request", "refs/pull/5/merge")), ["pull-5"]);
    // README type=semver: {{raw}} keeps the tag as pushed, pre-release included.
    assert_eq!(tags("type=semver,pattern={{raw}}", &github("push", "refs/tags/v2.0.0-rc.1")), ["v2.0.0-rc.1"]);
    assert_eq!(tags("type=semver,pattern=v{{major}}", &github("push", "refs/tags/v1.2.3")), ["v1", "latest"]);
    // `value=` makes semver work off a tag push.
    assert_eq!(tags("type=semver,pattern={{major}}.{{minor}},value=v3.4.5", &branch), ["3.4", "latest"]);
}

#[test]
fn flavor_sets_latest_and_the_global_prefix_and_suffix() {
    let tag = github("push", "refs/tags/v1.2.3");
    let evaluate = |rules: &str, flavor: &str| {
        let rules = TagRules::parse(rules).unwrap().with_flavor(Flavor::parse(flavor).unwrap());
        rules.evaluate(&tag).unwrap().tags
    };
    assert_eq!(evaluate("type=semver,pattern={{version}}", "latest=false"), ["1.2.3"]);
    assert_eq!(evaluate("type=ref,event=branch\ntype=raw,value=x", "latest=true"), ["x", "latest"]);
    assert_eq!(evaluate("type=semver,pattern={{version}}", "prefix=app-\nsuffix=-slim"), ["app-1.2.3-slim", "latest"]);
    assert_eq!(evaluate("type=semver,pattern={{version}}", "prefix=app-,onlatest=true"), ["app-1.2.3", "app-latest"]);
    // A rule's own prefix wins over the flavor's, even when empty.
    assert_eq!(evaluate("type=semver,pattern={{version}},prefix=", "prefix=app-"), ["1.2.3", "latest"]);
}

#[test]
fn latest_follows_the_highest_priority_rule_that_gave_a_tag() {
    let tag = github("push", "refs/tags/v1.2.3");
    // The raw rule outranks semver here, and raw never asks for latest.
    assert_eq!(tags("type=raw,value=stable,priority=1000\ntype=semver,pattern={{version}}", &tag), ["stable", "1.2.3"]);
    let rules = TagRules::parse("type=semver,pattern={{version}}\ntype=sha").unwrap();
    assert_eq!(rules.evaluate(&tag).unwrap().version.as_deref(), Some("1.2.3"));
}

#[test]
fn disabled_and_inapplicable_rules_give_nothing() {
    let branch = github("push", "refs/heads/dev");
    assert!(tags("type=raw,value=x,enable=false", &branch).is_empty());
    assert!(tags("type=raw,value=latest,enable={{is_default_branch}}", &branch).is_empty());
    assert!(tags("type=edge", &branch).is_empty());
    assert_eq!(tags("type=edge,branch=dev", &branch), ["edge"]);
    let not_semver = github("push", "refs/tags/release-1");
    let evaluation = TagRules::parse("type=semver,pattern={{version}}").unwrap().evaluate(&not_semver).unwrap();
    assert!(evaluation.tags.is_empty());
    assert!(evaluation.warnings[0].contains("`release-1` is not a semantic version"), "{:?}", evaluation.warnings);
}

#[test]
fn tags_that_cannot_be_tags_are_errors() {
    let error =
        TagRules::parse("\ntype=raw,value=-x").unwrap().evaluate(&github("push", "refs/heads/main")).unwrap_err();
    assert_eq!((error.line, &error.problem), (2, &Problem::InvalidTag("-x".to_owned())));
    let long = format!("type=raw,value={}", "a".repeat(300));
    assert_eq!(tags(&long, &github("push", "refs/heads/main"))[0].len(), MAXIMUM_TAG_LENGTH);
}

#[test]
fn schedule_dates_take_a_time_zone_and_the_commit_date() {
    let schedule = github("schedule", "refs/heads/main");
    assert_eq!(tags("type=schedule,pattern={{date 'YYYYMMDD-HH' tz='+09:00'}}", &schedule), ["20210326-12"]);
    let mut with_commit = schedule.clone();
    with_commit.commit_time = Some(0);
    assert_eq!(tags("type=schedule,pattern={{commit_date 'YYYY'}}", &with_commit), ["1970"]);
    let error = TagRules::parse("type=schedule,pattern={{date 'YYYY' tz='Asia/Tokyo'}}").unwrap().evaluate(&schedule);
    assert!(error.unwrap_err().to_string().contains("`Asia/Tokyo` is not supported"));
}
