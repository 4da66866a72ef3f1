//! Which CI system this is, and the zero-config registry defaults it implies: on GitHub
//! Actions `ghcr.io/<owner/name lower-cased>` (`containers.<host>` on GitHub Enterprise Server)
//! with the workflow's token; on GitLab `CI_REGISTRY_IMAGE` with the job's registry
//! credentials. Reads a [`Variables`] map only; secrets stay in [`Secret`].

use super::vars::{
    BUILDKITE, CI, CI_JOB_TOKEN, CI_REGISTRY, CI_REGISTRY_IMAGE, CI_REGISTRY_PASSWORD, CI_REGISTRY_USER, CIRCLECI,
    GITHUB_ACTIONS, GITHUB_ACTOR, GITHUB_REPOSITORY, GITHUB_SERVER_URL, GITHUB_TOKEN, GITLAB_CI, JENKINS_URL,
};
use super::{Secret, Variables};

/// The CI system rko runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiSystem {
    GithubActions,
    Gitlab,
    Buildkite,
    CircleCi,
    Jenkins,
    /// `CI` is set, but by no system rko knows.
    Other,
    /// Not a CI run.
    None,
}

impl CiSystem {
    pub fn name(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "GitHub Actions",
            CiSystem::Gitlab => "GitLab CI",
            CiSystem::Buildkite => "Buildkite",
            CiSystem::CircleCi => "CircleCI",
            CiSystem::Jenkins => "Jenkins",
            CiSystem::Other => "CI",
            CiSystem::None => "none",
        }
    }

    pub fn is_ci(self) -> bool {
        self != CiSystem::None
    }
}

fn is_true(variables: &impl Variables, name: &str) -> bool {
    variables.variable(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The CI system, from the variables each one sets (the specific ones before generic `CI`).
pub fn detect(variables: &impl Variables) -> CiSystem {
    if is_true(variables, GITHUB_ACTIONS) {
        CiSystem::GithubActions
    } else if is_true(variables, GITLAB_CI) {
        CiSystem::Gitlab
    } else if is_true(variables, BUILDKITE) {
        CiSystem::Buildkite
    } else if is_true(variables, CIRCLECI) {
        CiSystem::CircleCi
    } else if variables.non_empty(JENKINS_URL).is_some() {
        CiSystem::Jenkins
    } else if variables.non_empty(CI).is_some_and(|value| !matches!(value, "false" | "0")) {
        CiSystem::Other
    } else {
        CiSystem::None
    }
}

/// Where images go when nothing says, and how to log in there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryDefaults {
    /// The repository (`KO_DOCKER_REPO`'s role), lower-cased as OCI requires.
    pub repository: String,
    /// The variable it came from, for the log line that says so.
    pub source: &'static str,
    pub credentials: Option<RegistryCredentials>,
}

/// A login for one registry host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// `host[:port]`.
    pub registry: String,
    pub username: String,
    pub password: Secret,
}

/// The username sent with GitLab's job token.
pub const GITLAB_JOB_TOKEN_USER: &str = "gitlab-ci-token";
/// GitHub's container registry on github.com.
pub const GHCR: &str = "ghcr.io";

/// The zero-config repository and credentials for `system`. `github_token` is the action's
/// `github-token` input; without it `GITHUB_TOKEN` is used when the environment has one.
pub fn registry_defaults(
    system: CiSystem,
    variables: &impl Variables,
    github_token: Option<&Secret>,
) -> Option<RegistryDefaults> {
    match system {
        CiSystem::GithubActions => github_defaults(variables, github_token),
        CiSystem::Gitlab => gitlab_defaults(variables),
        _ => None,
    }
}

/// `ghcr.io` on github.com (and when the server is unknown), `containers.<host>` on GitHub
/// Enterprise Server and GHE.com.
pub fn github_registry(server_url: Option<&str>) -> String {
    let host = server_url.map(|url| {
        let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = without_scheme.split('/').next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        host.split(':').next().unwrap_or_default().to_ascii_lowercase()
    });
    match host.as_deref() {
        None | Some("") | Some("github.com") | Some("www.github.com") => GHCR.to_owned(),
        Some(host) => format!("containers.{host}"),
    }
}

fn github_defaults(variables: &impl Variables, github_token: Option<&Secret>) -> Option<RegistryDefaults> {
    let repository = variables.non_empty(GITHUB_REPOSITORY)?;
    let registry = github_registry(variables.non_empty(GITHUB_SERVER_URL));
    let token = github_token.cloned().or_else(|| variables.non_empty(GITHUB_TOKEN).map(Secret::new));
    let credentials = token.map(|password| RegistryCredentials {
        registry: registry.clone(),
        // The registry checks the token, not the name; the actor is what GitHub documents.
        username: variables.non_empty(GITHUB_ACTOR).unwrap_or("github-actions").to_owned(),
        password,
    });
    Some(RegistryDefaults {
        repository: format!("{registry}/{}", repository.to_ascii_lowercase()),
        source: GITHUB_REPOSITORY,
        credentials,
    })
}

fn gitlab_defaults(variables: &impl Variables) -> Option<RegistryDefaults> {
    let repository = variables.non_empty(CI_REGISTRY_IMAGE)?.to_ascii_lowercase();
    let registry = match variables.non_empty(CI_REGISTRY) {
        Some(registry) => registry.to_ascii_lowercase(),
        None => repository.split('/').next().unwrap_or_default().to_owned(),
    };
    let user_and_password = variables.non_empty(CI_REGISTRY_USER).zip(variables.non_empty(CI_REGISTRY_PASSWORD));
    let credentials = match user_and_password {
        Some((username, password)) => Some((username, password)),
        None => variables.non_empty(CI_JOB_TOKEN).map(|token| (GITLAB_JOB_TOKEN_USER, token)),
    }
    .map(|(username, password)| RegistryCredentials {
        registry: registry.clone(),
        username: username.to_owned(),
        password: Secret::new(password),
    });
    Some(RegistryDefaults { repository, source: CI_REGISTRY_IMAGE, credentials })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::variables;

    #[test]
    fn detects_each_system_before_generic_ci() {
        let cases: [(&[(&str, &str)], CiSystem); 9] = [
            (&[("GITHUB_ACTIONS", "true"), ("CI", "true")], CiSystem::GithubActions),
            (&[("GITLAB_CI", "true"), ("CI", "true")], CiSystem::Gitlab),
            (&[("BUILDKITE", "true"), ("CI", "true")], CiSystem::Buildkite),
            (&[("CIRCLECI", "true"), ("CI", "true")], CiSystem::CircleCi),
            (&[("JENKINS_URL", "https://jenkins.example/")], CiSystem::Jenkins),
            (&[("CI", "true")], CiSystem::Other),
            (&[("CI", "false")], CiSystem::None),
            (&[("GITHUB_ACTIONS", "false")], CiSystem::None),
            (&[], CiSystem::None),
        ];
        for (pairs, expected) in cases {
            assert_eq!(detect(&variables(pairs)), expected, "{pairs:?}");
        }
    }

    #[test]
    fn github_defaults_lowercase_the_repository_and_use_the_token_input() {
        let env = variables(&[
            ("GITHUB_REPOSITORY", "Octo-Org/Hello-World"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_ACTOR", "octocat"),
            ("GITHUB_TOKEN", "from-env"),
        ]);
        let token = Secret::new("from-input");
        let defaults = registry_defaults(CiSystem::GithubActions, &env, Some(&token)).unwrap();
        assert_eq!(defaults.repository, "ghcr.io/octo-org/hello-world");
        assert_eq!(defaults.source, "GITHUB_REPOSITORY");
        let credentials = defaults.credentials.unwrap();
        assert_eq!(credentials.registry, "ghcr.io");
        assert_eq!(credentials.username, "octocat");
        assert_eq!(credentials.password.expose(), "from-input");

        let defaults = registry_defaults(CiSystem::GithubActions, &env, None).unwrap();
        assert_eq!(defaults.credentials.unwrap().password.expose(), "from-env");
    }

    #[test]
    fn github_enterprise_uses_the_containers_subdomain() {
        assert_eq!(github_registry(Some("https://GHE.Example.com")), "containers.ghe.example.com");
        assert_eq!(github_registry(Some("https://ghe.example.com:8443/")), "containers.ghe.example.com");
        assert_eq!(github_registry(Some("https://octo.ghe.com")), "containers.octo.ghe.com");
        assert_eq!(github_registry(Some("https://github.com/")), "ghcr.io");
        assert_eq!(github_registry(None), "ghcr.io");
        let env = variables(&[("GITHUB_REPOSITORY", "Acme/App"), ("GITHUB_SERVER_URL", "https://ghe.acme.io")]);
        let defaults = registry_defaults(CiSystem::GithubActions, &env, None).unwrap();
        assert_eq!(defaults.repository, "containers.ghe.acme.io/acme/app");
        assert_eq!(defaults.credentials, None);
    }

    #[test]
    fn github_without_a_repository_has_no_default() {
        assert_eq!(registry_defaults(CiSystem::GithubActions, &variables(&[]), None), None);
    }

    #[test]
    fn gitlab_defaults_use_the_registry_credentials_or_the_job_token() {
        let env = variables(&[
            ("CI_REGISTRY", "registry.gitlab.com"),
            ("CI_REGISTRY_IMAGE", "registry.gitlab.com/Group/Project"),
            ("CI_REGISTRY_USER", "gitlab-ci-token"),
            ("CI_REGISTRY_PASSWORD", "registry-secret"),
            ("CI_JOB_TOKEN", "job-secret"),
        ]);
        let defaults = registry_defaults(CiSystem::Gitlab, &env, None).unwrap();
        assert_eq!(defaults.repository, "registry.gitlab.com/group/project");
        assert_eq!(defaults.source, "CI_REGISTRY_IMAGE");
        let credentials = defaults.credentials.unwrap();
        assert_eq!(
            (credentials.registry.as_str(), credentials.username.as_str(), credentials.password.expose()),
            ("registry.gitlab.com", "gitlab-ci-token", "registry-secret")
        );

        let env = variables(&[("CI_REGISTRY_IMAGE", "gitlab.example:5050/g/p"), ("CI_JOB_TOKEN", "job-secret")]);
        let credentials = registry_defaults(CiSystem::Gitlab, &env, None).unwrap().credentials.unwrap();
        assert_eq!(credentials.registry, "gitlab.example:5050");
        assert_eq!(credentials.username, GITLAB_JOB_TOKEN_USER);
        assert_eq!(credentials.password.expose(), "job-secret");
    }

    #[test]
    fn defaults_never_print_the_secret() {
        let env = variables(&[("CI_REGISTRY_IMAGE", "r.example/g/p"), ("CI_JOB_TOKEN", "job-secret")]);
        let defaults = registry_defaults(CiSystem::Gitlab, &env, None).unwrap();
        assert!(!format!("{defaults:?}").contains("job-secret"));
    }

    #[test]
    fn other_systems_have_no_registry_defaults() {
        let env = variables(&[("GITHUB_REPOSITORY", "a/b"), ("CI_REGISTRY_IMAGE", "r/g/p")]);
        assert_eq!(registry_defaults(CiSystem::Buildkite, &env, None), None);
        assert_eq!(registry_defaults(CiSystem::None, &env, None), None);
    }
}
