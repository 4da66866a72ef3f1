//! Every environment variable the CI front end reads, declared once with what it means. The
//! modules under `ci` never read the process environment: they take a [`super::Variables`]
//! map that the CLI fills from its snapshot (these names will move into `crate::env`).

// Detection.

/// Set to `true` by GitHub Actions.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// Set to `true` by GitLab CI.
pub const GITLAB_CI: &str = "GITLAB_CI";
/// Set to `true` by Buildkite agents.
pub const BUILDKITE: &str = "BUILDKITE";
/// Set to `true` by CircleCI.
pub const CIRCLECI: &str = "CIRCLECI";
/// The Jenkins controller's URL, set in every Jenkins build.
pub const JENKINS_URL: &str = "JENKINS_URL";
/// Set (usually to `true`) by most CI systems.
pub const CI: &str = "CI";

// GitHub Actions: repository, refs and events.

/// `owner/name` of the repository, in its original (possibly mixed) case.
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// `https://github.com`, or the GitHub Enterprise Server's URL.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// The user that triggered the run; the username for the container registry.
pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
/// The workflow's token when the environment carries it (actions pass it as an input instead).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// The event that triggered the run (`push`, `pull_request`, `schedule`, ...).
pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
/// The path of the event's JSON payload (`pull_request.head.sha` and the default branch).
pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// The full ref that triggered the run (`refs/heads/main`, `refs/tags/v1.2.3`,
/// `refs/pull/2/merge`).
pub const GITHUB_REF: &str = "GITHUB_REF";
/// The commit that triggered the run (on pull requests: the merge commit).
pub const GITHUB_SHA: &str = "GITHUB_SHA";
/// The source branch of a pull request.
pub const GITHUB_HEAD_REF: &str = "GITHUB_HEAD_REF";
/// The target branch of a pull request.
pub const GITHUB_BASE_REF: &str = "GITHUB_BASE_REF";
/// The checkout directory; annotations name files relative to it.
pub const GITHUB_WORKSPACE: &str = "GITHUB_WORKSPACE";
/// The workflow file and ref (`owner/repo/.github/workflows/x.yml@refs/heads/main`).
pub const GITHUB_WORKFLOW_REF: &str = "GITHUB_WORKFLOW_REF";

// GitHub Actions: file commands.

/// The step's outputs file (`name=value` or heredoc entries).
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// Variables for later steps (same format as `GITHUB_OUTPUT`).
pub const GITHUB_ENV: &str = "GITHUB_ENV";
/// The step's Markdown job summary (1 MiB at most).
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

// GitHub Actions: inputs and OIDC.

/// Prefix of every action input: `INPUT_` and the input's id upper-cased, hyphens kept.
pub const INPUT_PREFIX: &str = "INPUT_";
/// Present only when the job has `permissions: id-token: write`.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

// GitLab CI.

/// `host[:port]` of the project's container registry (only when the registry is enabled).
pub const CI_REGISTRY: &str = "CI_REGISTRY";
/// `host[:port]/<project path>`: the project's image repository.
pub const CI_REGISTRY_IMAGE: &str = "CI_REGISTRY_IMAGE";
/// The registry username for pushing (`gitlab-ci-token`).
pub const CI_REGISTRY_USER: &str = "CI_REGISTRY_USER";
/// The registry password for pushing (valid while the job runs).
pub const CI_REGISTRY_PASSWORD: &str = "CI_REGISTRY_PASSWORD";
/// The job's token; with the user `gitlab-ci-token` it can push to `CI_REGISTRY`.
pub const CI_JOB_TOKEN: &str = "CI_JOB_TOKEN";
/// The tag of a tag pipeline.
pub const CI_COMMIT_TAG: &str = "CI_COMMIT_TAG";
/// The branch of a branch pipeline (unset in merge request and tag pipelines).
pub const CI_COMMIT_BRANCH: &str = "CI_COMMIT_BRANCH";
/// The branch or tag the pipeline runs for.
pub const CI_COMMIT_REF_NAME: &str = "CI_COMMIT_REF_NAME";
/// `CI_COMMIT_REF_NAME` lower-cased, shortened to 63 bytes, only `[a-z0-9-]`.
pub const CI_COMMIT_REF_SLUG: &str = "CI_COMMIT_REF_SLUG";
/// The commit the pipeline runs for.
pub const CI_COMMIT_SHA: &str = "CI_COMMIT_SHA";
/// The commit's time (ISO 8601).
pub const CI_COMMIT_TIMESTAMP: &str = "CI_COMMIT_TIMESTAMP";
/// The merge request's number within the project.
pub const CI_MERGE_REQUEST_IID: &str = "CI_MERGE_REQUEST_IID";
/// The merge request's head commit (merged results pipelines run on a merge commit).
pub const CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: &str = "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA";
/// The merge request's target branch.
pub const CI_MERGE_REQUEST_TARGET_BRANCH_NAME: &str = "CI_MERGE_REQUEST_TARGET_BRANCH_NAME";
/// What started the pipeline (`push`, `merge_request_event`, `schedule`, `web`, ...).
pub const CI_PIPELINE_SOURCE: &str = "CI_PIPELINE_SOURCE";
/// The project's default branch.
pub const CI_DEFAULT_BRANCH: &str = "CI_DEFAULT_BRANCH";
