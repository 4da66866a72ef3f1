//! Tags derived from git refs, written in docker/metadata-action's rule syntax so users can
//! paste their `tags:` input: one rule per line (`#` lines and blank lines skipped), each a
//! comma-separated list of `key=value` fields (`type=semver,pattern={{major}}.{{minor}}`,
//! `type=ref,event=branch`, `type=sha,format=long`, `type=raw,value=edge`, ...), plus the
//! `flavor` lines (`latest=auto|true|false`, `prefix=`, `suffix=`). Rules are evaluated against
//! a [`GitContext`] in priority order, as metadata-action does: the first tag is the version,
//! `latest` follows the first rule that gave a tag. Unlike metadata-action, a typo (an unknown
//! attribute or expression) is an error naming the line, not a silently missing tag. Pure.

use std::fmt;

use super::git_context::{GitContext, GitRef};
use super::git_context::{dates, global};
use super::semver::Semver;
use super::template::{Template, TemplateError};

/// A rule or flavor line that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} on line {line} (`{rule}`): {problem}")]
pub struct TagRuleError {
    /// `tag rule` or `flavor`.
    pub what: &'static str,
    pub line: usize,
    pub rule: String,
    pub problem: Problem,
}

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnknownType(String),
    UnsupportedType(String),
    MissingAttribute { attribute: &'static str, hint: &'static str },
    UnknownAttribute { attribute: String, allowed: String },
    InvalidValue { attribute: String, value: String, expected: &'static str },
    UnclosedQuote,
    Template(String),
    InvalidTag(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownType(kind) => {
                write!(formatter, "unknown type `{kind}`; use schedule, semver, edge, ref, raw or sha")
            }
            Problem::UnsupportedType(kind) => write!(
                formatter,
                "type `{kind}` is not supported; use `type=semver,pattern=...` or `type=raw,value={{{{tag}}}}`"
            ),
            Problem::MissingAttribute { attribute, hint } => write!(formatter, "`{attribute}` is missing; {hint}"),
            Problem::UnknownAttribute { attribute, allowed } => {
                write!(formatter, "unknown attribute `{attribute}`; this type takes {allowed}")
            }
            Problem::InvalidValue { attribute, value, expected } => {
                write!(formatter, "`{attribute}={value}` is not valid; use {expected}")
            }
            Problem::UnclosedQuote => formatter.write_str("a quoted field has no closing `\"`"),
            Problem::Template(message) => formatter.write_str(message),
            Problem::InvalidTag(tag) => write!(
                formatter,
                "gives the tag `{tag}`, which is not a valid tag (it must start with a letter, digit or `_`)"
            ),
        }
    }
}

impl From<TemplateError> for Problem {
    fn from(error: TemplateError) -> Problem {
        Problem::Template(error.0)
    }
}

/// The default rules when none are given (metadata-action's).
pub const DEFAULT_RULES: &str = "type=schedule\ntype=ref,event=branch\ntype=ref,event=tag\ntype=ref,event=pr";

/// Tags are at most this long (the distribution spec's limit).
pub const MAXIMUM_TAG_LENGTH: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefEvent {
    Branch,
    Tag,
    PullRequest,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RuleKind {
    Schedule { pattern: Template },
    Semver { pattern: Template, value: Option<Template> },
    Edge { branch: Option<String> },
    Ref { event: RefEvent },
    Raw { value: Template },
    Sha { long: bool },
}

/// One parsed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRule {
    /// 1-based line in the rules text.
    pub line: usize,
    /// The rule as written.
    pub text: String,
    pub priority: i64,
    kind: RuleKind,
    enable: Template,
    prefix: Option<Template>,
    suffix: Option<Template>,
}

/// `latest=` of the flavor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Latest {
    /// `latest` for tag pushes: `type=ref,event=tag` and non-prerelease `type=semver`.
    #[default]
    Auto,
    Always,
    Never,
}

/// metadata-action's `flavor` input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flavor {
    pub latest: Latest,
    prefix: Template,
    suffix: Template,
    /// Whether `latest` also gets the prefix / suffix (`onlatest=true`).
    pub prefix_latest: bool,
    pub suffix_latest: bool,
}

impl Default for Flavor {
    fn default() -> Flavor {
        let empty = Template::parse("").unwrap_or_else(|_| unreachable!("the empty template parses"));
        Flavor {
            latest: Latest::Auto,
            prefix: empty.clone(),
            suffix: empty,
            prefix_latest: false,
            suffix_latest: false,
        }
    }
}

/// The rules, sorted by priority (highest first; equal priorities keep their order), and the
/// flavor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRules {
    rules: Vec<TagRule>,
    flavor: Flavor,
}

/// What the rules give for a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    /// The highest-priority tag (metadata-action's `version` output).
    pub version: Option<String>,
    /// Every tag, the version first, `latest` last when it applies; no duplicates.
    pub tags: Vec<String>,
    /// Rules that could not apply to this ref (e.g. a tag that is not semver).
    pub warnings: Vec<String>,
}

/// The non-empty, non-comment lines of a rules text, with their 1-based line numbers.
fn rule_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// Split one line into its comma-separated fields; a field may be double-quoted (`""` is a
/// quote inside it) to hold commas.
fn fields(line: &str) -> Result<Vec<String>, Problem> {
    let mut fields = Vec::new();
    let mut characters = line.chars().peekable();
    loop {
        while characters.peek().is_some_and(|character| *character == ' ' || *character == '\t') {
            characters.next();
        }
        let mut field = String::new();
        if characters.peek() == Some(&'"') {
            characters.next();
            loop {
                match characters.next() {
                    None => return Err(Problem::UnclosedQuote),
                    Some('"') if characters.peek() == Some(&'"') => {
                        characters.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(character) => field.push(character),
                }
            }
            while let Some(character) = characters.next_if(|character| *character != ',') {
                field.push(character);
            }
        } else {
            while let Some(character) = characters.next_if(|character| *character != ',') {
                field.push(character);
            }
        }
        fields.push(field.trim().to_owned());
        if characters.next().is_none() {
            return Ok(fields);
        }
    }
}

/// Expressions allowed in `prefix`, `suffix`, `value` and `enable`.
const GLOBAL_EXPRESSIONS: &[&str] = &["branch", "tag", "sha", "base_ref", "is_default_branch", "date", "commit_date"];
const SEMVER_EXPRESSIONS: &[&str] = &["raw", "version", "major", "minor", "patch"];
const SCHEDULE_EXPRESSIONS: &[&str] = &["date", "commit_date"];

fn template(text: &str, allowed: &[&str]) -> Result<Template, Problem> {
    let parsed = Template::parse(text).map_err(|error| Problem::Template(error.0))?;
    for expression in parsed.expressions() {
        if !allowed.contains(&expression.name.as_str()) {
            return Err(Problem::Template(format!(
                "unknown expression `{{{{{}}}}}`; here rko knows {}",
                expression.name,
                allowed.iter().map(|name| format!("`{{{{{name}}}}}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(parsed)
}

fn parse_rule(line: usize, text: &str) -> Result<TagRule, TagRuleError> {
    let error = |problem| TagRuleError { what: "tag rule", line, rule: text.to_owned(), problem };
    let mut kind_name = None;
    let mut attributes: Vec<(String, String)> = Vec::new();
    for field in fields(text).map_err(error)?.into_iter().filter(|field| !field.is_empty()) {
        let (key, value) = match field.split_once('=') {
            // A bare field is the value (`type=raw,foo` or just `foo`).
            None => ("value".to_owned(), field.clone()),
            Some((key, value)) => (key.trim().to_ascii_lowercase(), value.trim().to_owned()),
        };
        if key == "type" {
            kind_name = Some(value);
        } else {
            attributes.retain(|(existing, _)| *existing != key);
            attributes.push((key, value));
        }
    }
    let attribute = |name: &str| attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let kind_name = kind_name.unwrap_or_else(|| "raw".to_owned());
    let (allowed, specific): (&'static str, &[&str]) = match kind_name.as_str() {
        "schedule" => ("`pattern`", &["pattern"]),
        "semver" => ("`pattern` and `value`", &["pattern", "value"]),
        "edge" => ("`branch`", &["branch"]),
        "ref" => ("`event`", &["event"]),
        "raw" => ("`value`", &["value"]),
        "sha" => ("`format`", &["format"]),
        "match" | "pep440" => return Err(error(Problem::UnsupportedType(kind_name))),
        _ => return Err(error(Problem::UnknownType(kind_name))),
    };
    for (key, _) in &attributes {
        if !specific.contains(&key.as_str()) && !["enable", "priority", "prefix", "suffix"].contains(&key.as_str()) {
            let allowed = format!("{allowed}, `enable`, `priority`, `prefix` and `suffix`");
            return Err(error(Problem::UnknownAttribute { attribute: key.clone(), allowed }));
        }
    }
    let invalid = |attribute: &str, value: &str, expected| {
        error(Problem::InvalidValue { attribute: attribute.to_owned(), value: value.to_owned(), expected })
    };
    let global = |text: &str| template(text, GLOBAL_EXPRESSIONS).map_err(error);
    let (kind, default_priority, default_prefix) = match kind_name.as_str() {
        "schedule" => {
            let pattern = template(attribute("pattern").unwrap_or("nightly"), SCHEDULE_EXPRESSIONS).map_err(error)?;
            (RuleKind::Schedule { pattern }, 1000, None)
        }
        "semver" => {
            let pattern = attribute("pattern").ok_or_else(|| {
                error(Problem::MissingAttribute { attribute: "pattern", hint: "add `pattern={{version}}`" })
            })?;
            let pattern = template(pattern, SEMVER_EXPRESSIONS).map_err(error)?;
            let value = attribute("value").filter(|value| !value.is_empty()).map(global).transpose()?;
            (RuleKind::Semver { pattern, value }, 900, None)
        }
        "edge" => {
            let branch = attribute("branch").filter(|branch| !branch.is_empty()).map(str::to_owned);
            (RuleKind::Edge { branch }, 700, None)
        }
        "ref" => {
            let hint = "add `event=branch`, `event=tag` or `event=pr`";
            let event = match attribute("event") {
                None => return Err(error(Problem::MissingAttribute { attribute: "event", hint })),
                Some("branch") => RefEvent::Branch,
                Some("tag") => RefEvent::Tag,
                Some("pr") => RefEvent::PullRequest,
                Some(other) => return Err(invalid("event", other, "`branch`, `tag` or `pr`")),
            };
            let prefix = (event == RefEvent::PullRequest).then_some("pr-");
            (RuleKind::Ref { event }, 600, prefix)
        }
        "raw" => {
            let value = attribute("value")
                .ok_or_else(|| error(Problem::MissingAttribute { attribute: "value", hint: "add `value=<tag>`" }))?;
            (RuleKind::Raw { value: global(value)? }, 200, None)
        }
        _ => {
            let long = match attribute("format").unwrap_or("short") {
                "short" => false,
                "long" => true,
                other => return Err(invalid("format", other, "`short` or `long`")),
            };
            (RuleKind::Sha { long }, 100, Some("sha-"))
        }
    };
    let enable = attribute("enable").unwrap_or("true");
    let enable_template = global(enable)?;
    if enable_template.expressions().next().is_none() && !matches!(enable, "true" | "false") {
        return Err(invalid("enable", enable, "`true`, `false` or an expression such as `{{is_default_branch}}`"));
    }
    let priority = match attribute("priority") {
        None => default_priority,
        Some(value) => value.parse().map_err(|_| invalid("priority", value, "a whole number"))?,
    };
    let prefix = attribute("prefix").or(default_prefix).map(global).transpose()?;
    let suffix = attribute("suffix").map(global).transpose()?;
    Ok(TagRule { line, text: text.to_owned(), priority, kind, enable: enable_template, prefix, suffix })
}

impl Flavor {
    /// Parse flavor lines: `latest=auto|true|false`, `prefix=...`, `suffix=...`, each of the
    /// last two optionally followed by `onlatest=true` on the same line.
    pub fn parse(text: &str) -> Result<Flavor, TagRuleError> {
        let mut flavor = Flavor::default();
        for (line, rule) in rule_lines(text) {
            let error = |problem| TagRuleError { what: "flavor", line, rule: rule.to_owned(), problem };
            let invalid = |attribute: &str, value: &str, expected| {
                error(Problem::InvalidValue { attribute: attribute.to_owned(), value: value.to_owned(), expected })
            };
            let mut last = None;
            for field in fields(rule).map_err(error)? {
                let Some((key, value)) = field.split_once('=') else {
                    return Err(invalid("", &field, "`key=value`"));
                };
                let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
                match key.as_str() {
                    "latest" => {
                        flavor.latest = match value {
                            "auto" => Latest::Auto,
                            "true" => Latest::Always,
                            "false" => Latest::Never,
                            _ => return Err(invalid("latest", value, "`auto`, `true` or `false`")),
                        }
                    }
                    "prefix" | "suffix" => {
                        let parsed = template(value, GLOBAL_EXPRESSIONS).map_err(error)?;
                        if key == "prefix" {
                            flavor.prefix = parsed
                        } else {
                            flavor.suffix = parsed
                        }
                        last = Some(key);
                    }
                    "onlatest" => {
                        let on = match value {
                            "true" => true,
                            "false" => false,
                            _ => return Err(invalid("onlatest", value, "`true` or `false`")),
                        };
                        match last.as_deref() {
                            Some("prefix") => flavor.prefix_latest = on,
                            Some("suffix") => flavor.suffix_latest = on,
                            _ => return Err(invalid("onlatest", value, "it after `prefix=` or `suffix=`")),
                        }
                    }
                    _ => {
                        let allowed = "`latest`, `prefix`, `suffix` and `onlatest`".to_owned();
                        return Err(error(Problem::UnknownAttribute { attribute: key, allowed }));
                    }
                }
            }
        }
        Ok(flavor)
    }
}

impl TagRules {
    /// Parse rules, one per line; no rules at all means metadata-action's defaults
    /// ([`DEFAULT_RULES`]).
    pub fn parse(text: &str) -> Result<TagRules, TagRuleError> {
        let mut rules = rule_lines(text).map(|(line, rule)| parse_rule(line, rule)).collect::<Result<Vec<_>, _>>()?;
        if rules.is_empty() {
            rules = rule_lines(DEFAULT_RULES).map(|(line, rule)| parse_rule(line, rule)).collect::<Result<_, _>>()?;
        }
        rules.sort_by_key(|rule| std::cmp::Reverse(rule.priority));
        Ok(TagRules { rules, flavor: Flavor::default() })
    }

    pub fn with_flavor(mut self, flavor: Flavor) -> TagRules {
        self.flavor = flavor;
        self
    }

    pub fn rules(&self) -> &[TagRule] {
        &self.rules
    }

    /// The tags the rules give for `context`.
    pub fn evaluate(&self, context: &GitContext) -> Result<Tags, TagRuleError> {
        let mut version = Version::default();
        let mut warnings = Vec::new();
        for rule in &self.rules {
            let error = |problem| TagRuleError { what: "tag rule", line: rule.line, rule: rule.text.clone(), problem };
            let enabled = global(&rule.enable, context).map_err(|template| error(template.into()))?;
            match enabled.as_str() {
                "true" => {}
                "false" => continue,
                other => {
                    let expected = "`true` or `false`";
                    return Err(error(Problem::InvalidValue {
                        attribute: "enable".to_owned(),
                        value: other.to_owned(),
                        expected,
                    }));
                }
            }
            let Some((value, auto_latest)) = self.rule_value(rule, context, &mut warnings).map_err(error)? else {
                continue;
            };
            let value = self.affix(rule, value, context).map_err(|template| error(template.into()))?;
            let latest = match self.flavor.latest {
                Latest::Auto => auto_latest,
                Latest::Always => true,
                Latest::Never => false,
            };
            if let Some(tag) = version.add(&value, latest) {
                validate(&tag).map_err(error)?;
            }
        }
        let mut tags: Vec<String> = version.main.iter().chain(&version.partial).cloned().collect();
        if version.latest == Some(true) && version.main.is_some() {
            let prefix =
                if self.flavor.prefix_latest { global(&self.flavor.prefix, context) } else { Ok(String::new()) };
            let suffix =
                if self.flavor.suffix_latest { global(&self.flavor.suffix, context) } else { Ok(String::new()) };
            let flavor_error = |error: TemplateError| TagRuleError {
                what: "flavor",
                line: 0,
                rule: "latest".to_owned(),
                problem: Problem::Template(error.0),
            };
            let latest = sanitize(&format!("{}latest{}", prefix.map_err(flavor_error)?, suffix.map_err(flavor_error)?));
            if !tags.contains(&latest) {
                tags.push(latest);
            }
        }
        Ok(Tags { version: version.main, tags, warnings })
    }

    /// A rule's raw value for this run and whether `latest=auto` means `latest`; `None` when the
    /// rule does not apply.
    fn rule_value(
        &self,
        rule: &TagRule,
        context: &GitContext,
        warnings: &mut Vec<String>,
    ) -> Result<Option<(String, bool)>, Problem> {
        Ok(match &rule.kind {
            RuleKind::Schedule { pattern } => {
                if !context.is_schedule() {
                    return Ok(None);
                }
                Some((pattern.render(|expression| dates(expression, context))?, false))
            }
            RuleKind::Semver { pattern, value } => {
                let raw = match (value, &context.git_ref) {
                    (Some(value), _) => global(value, context)?,
                    (None, GitRef::Tag(tag)) => tag.replace('/', "-"),
                    (None, _) => return Ok(None),
                };
                let Some(semver) = Semver::parse(&raw) else {
                    warnings
                        .push(format!("line {}: `{raw}` is not a semantic version (https://semver.org)", rule.line));
                    return Ok(None);
                };
                if semver.prerelease.is_some() && !pattern.is_only("raw") {
                    // Pre-releases only ever give `{{version}}` (or `{{raw}}`), never `1`, `1.2`.
                    Some((semver.version(), false))
                } else {
                    let rendered = pattern.render(|expression| Ok(semver.field(&expression.name)))?;
                    Some((rendered, semver.prerelease.is_none()))
                }
            }
            RuleKind::Edge { branch } => {
                let (Some(current), Some(wanted)) =
                    (context.git_ref.branch(), branch.as_deref().or(context.default_branch.as_deref()))
                else {
                    return Ok(None);
                };
                (current == wanted).then(|| ("edge".to_owned(), false))
            }
            RuleKind::Ref { event } => match (event, &context.git_ref) {
                (RefEvent::Branch, GitRef::Branch(branch)) => Some((branch.clone(), false)),
                (RefEvent::Tag, GitRef::Tag(tag)) => Some((tag.clone(), true)),
                (RefEvent::PullRequest, GitRef::PullRequest(number)) => Some((number.to_string(), false)),
                _ => None,
            },
            RuleKind::Raw { value } => Some((global(value, context)?, false)),
            RuleKind::Sha { long } => {
                if context.sha.is_empty() {
                    return Ok(None);
                }
                let sha = if *long { context.sha.clone() } else { short_sha(&context.sha) };
                Some((sha, false))
            }
        })
    }

    /// The rule's own prefix and suffix (even when empty), else the flavor's.
    fn affix(&self, rule: &TagRule, value: String, context: &GitContext) -> Result<String, TemplateError> {
        if value.is_empty() {
            return Ok(value);
        }
        let prefix = global(rule.prefix.as_ref().unwrap_or(&self.flavor.prefix), context)?;
        let suffix = global(rule.suffix.as_ref().unwrap_or(&self.flavor.suffix), context)?;
        Ok(format!("{prefix}{value}{suffix}"))
    }
}

#[derive(Default)]
struct Version {
    main: Option<String>,
    partial: Vec<String>,
    latest: Option<bool>,
}

impl Version {
    /// Record a tag; returns it (sanitized) when it is new.
    fn add(&mut self, value: &str, latest: bool) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        let tag = sanitize(value);
        self.latest.get_or_insert(latest);
        if self.main.is_none() {
            self.main = Some(tag.clone());
        } else if self.main.as_ref() == Some(&tag) || self.partial.contains(&tag) {
            return None;
        } else {
            self.partial.push(tag.clone());
        }
        Some(tag)
    }
}

/// metadata-action's sanitizing: every run of characters outside `[A-Za-z0-9._-]` becomes one
/// `-` (so `my/branch` → `my-branch`), then at most [`MAXIMUM_TAG_LENGTH`] characters.
pub fn sanitize(value: &str) -> String {
    let mut tag = String::with_capacity(value.len());
    for character in value.chars() {
        if character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-') {
            tag.push(character);
        } else if !tag.ends_with('-') || tag.is_empty() {
            tag.push('-');
        }
    }
    tag.truncate(MAXIMUM_TAG_LENGTH);
    tag
}

fn validate(tag: &str) -> Result<(), Problem> {
    match tag.chars().next() {
        Some(first) if first.is_ascii_alphanumeric() || first == '_' => Ok(()),
        _ => Err(Problem::InvalidTag(tag.to_owned())),
    }
}

/// The first 7 characters of a commit, as metadata-action shortens it.
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(7).collect()
}

#[cfg(test)]
#[path = "tag_rules_tests.rs"]
mod tests;
