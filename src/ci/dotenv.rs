//! GitLab's `artifacts:reports:dotenv` file: `KEY=VALUE` lines that later jobs receive as
//! variables (`RKO_DIGEST`, `RKO_IMAGE`, `RKO_TAGS`, `RKO_IMAGES_JSON`, `RKO_VERIFY_COMMAND`).
//! GitLab reads each line as `^(.*?)=(.*)$` and strips both sides, so there is no quoting and
//! no multi-line value; names are `[A-Za-z0-9_]`; the file must stay under 5 KiB and 20
//! variables (self-managed default). Values are expanded as variables when used, so `$` is
//! written as `$$`. Whatever GitLab would reject is refused here with a reason. Pure.

use std::fmt::Write;

use super::outputs::Outputs;

/// GitLab rejects a dotenv file of this size or more.
pub const SIZE_LIMIT: usize = 5 * 1024;
/// GitLab's default limit of variables in one dotenv file (self-managed instances).
pub const VARIABLE_LIMIT: usize = 20;
/// GitLab's limit on a variable name.
pub const NAME_LIMIT: usize = 255;

pub const RKO_DIGEST: &str = "RKO_DIGEST";
pub const RKO_IMAGE: &str = "RKO_IMAGE";
pub const RKO_TAGS: &str = "RKO_TAGS";
pub const RKO_IMAGES_JSON: &str = "RKO_IMAGES_JSON";
pub const RKO_VERIFY_COMMAND: &str = "RKO_VERIFY_COMMAND";

/// A variable GitLab's dotenv report would not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DotenvError {
    #[error("`{0}` cannot be a dotenv variable: GitLab takes names of letters, digits and `_` (at most 255)")]
    InvalidName(String),
    #[error("the value of `{0}` spans lines; GitLab's dotenv report takes one line per variable")]
    MultiLine(String),
    #[error("the value of `{0}` starts or ends with whitespace, which GitLab's dotenv report strips")]
    Whitespace(String),
    #[error(
        "`{name}` would make the dotenv report {size} bytes; GitLab takes less than {limit}, \
         so it is left out (the JSON report has every value)"
    )]
    TooLarge { name: String, size: usize, limit: usize },
    #[error("`{name}` would be variable {count} of the dotenv report; GitLab takes at most {limit}")]
    TooMany { name: String, count: usize, limit: usize },
}

/// A dotenv report being written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dotenv {
    lines: Vec<(String, String)>,
}

impl Dotenv {
    pub fn new() -> Dotenv {
        Dotenv::default()
    }

    /// Add `name=value`, or say why GitLab would not take it (and leave the report as it was).
    /// A name given again replaces its earlier value (GitLab keeps the last one anyway).
    pub fn push(&mut self, name: &str, value: &str) -> Result<(), DotenvError> {
        let valid_name = !name.is_empty()
            && name.len() <= NAME_LIMIT
            && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !valid_name {
            return Err(DotenvError::InvalidName(name.to_owned()));
        }
        if value.contains(['\n', '\r']) {
            return Err(DotenvError::MultiLine(name.to_owned()));
        }
        if value.trim() != value {
            return Err(DotenvError::Whitespace(name.to_owned()));
        }
        let escaped = value.replace('$', "$$");
        let mut next = self.clone();
        next.lines.retain(|(existing, _)| existing != name);
        next.lines.push((name.to_owned(), escaped));
        if next.lines.len() > VARIABLE_LIMIT {
            return Err(DotenvError::TooMany { name: name.to_owned(), count: next.lines.len(), limit: VARIABLE_LIMIT });
        }
        let size = next.render().len();
        if size >= SIZE_LIMIT {
            return Err(DotenvError::TooLarge { name: name.to_owned(), size, limit: SIZE_LIMIT });
        }
        *self = next;
        Ok(())
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (name, value) in &self.lines {
            let _ = writeln!(text, "{name}={value}");
        }
        text
    }

    /// The report for a run: digest, image, tags (comma-separated), the images JSON and the
    /// verify commands (joined with ` && `), each only when it has a value. What GitLab would not
    /// take (a large images JSON, say) is left out and returned, for the caller to warn about.
    pub fn from_outputs(outputs: &Outputs) -> (Dotenv, Vec<DotenvError>) {
        let mut dotenv = Dotenv::new();
        let mut skipped = Vec::new();
        let values = [
            (RKO_DIGEST, outputs.digest.clone().unwrap_or_default()),
            (RKO_IMAGE, outputs.image.clone().unwrap_or_default()),
            (RKO_TAGS, outputs.tags.join(",")),
            (RKO_VERIFY_COMMAND, outputs.verify_commands.join(" && ")),
            (RKO_IMAGES_JSON, outputs.images.clone()),
        ];
        for (name, value) in values {
            if value.is_empty() {
                continue;
            }
            if let Err(error) = dotenv.push(name, &value) {
                skipped.push(error);
            }
        }
        (dotenv, skipped)
    }
}

/// Read a dotenv file as GitLab does (each line `^(.*?)=(.*)$`, both sides stripped), for tests.
pub fn parse(text: &str) -> Option<Vec<(String, String)>> {
    text.lines()
        .map(|line| line.split_once('=').map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::summary::tests::{local_image, signed_index};

    #[test]
    fn writes_one_line_per_variable_that_gitlab_reads_back() {
        let outputs = Outputs::new(&[signed_index(), local_image()], None);
        let (dotenv, skipped) = Dotenv::from_outputs(&outputs);
        assert!(skipped.is_empty(), "{skipped:?}");
        let text = dotenv.render();
        assert!(text.len() < SIZE_LIMIT);
        let parsed = parse(&text).unwrap();
        let names: Vec<&str> = parsed.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, [RKO_DIGEST, RKO_IMAGE, RKO_TAGS, RKO_VERIFY_COMMAND, RKO_IMAGES_JSON]);
        assert_eq!(parsed[0].1, signed_index().digest);
        assert_eq!(parsed[2].1, "1.2.3,latest");
        let json: serde_json::Value = serde_json::from_str(&parsed[4].1).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
    }

    #[test]
    fn refuses_what_gitlab_would_reject() {
        let mut dotenv = Dotenv::new();
        for name in ["rko-digest", "", "A B", &"N".repeat(256)] {
            assert_eq!(dotenv.push(name, "x"), Err(DotenvError::InvalidName(name.to_owned())));
        }
        assert_eq!(dotenv.push("A", "one\ntwo"), Err(DotenvError::MultiLine("A".to_owned())));
        assert_eq!(dotenv.push("A", " padded"), Err(DotenvError::Whitespace("A".to_owned())));
        let error = dotenv.push("BIG", &"x".repeat(SIZE_LIMIT)).unwrap_err();
        assert!(matches!(error, DotenvError::TooLarge { .. }), "{error}");
        assert!(error.to_string().contains("less than 5120"), "{error}");
        for index in 0..VARIABLE_LIMIT {
            dotenv.push(&format!("V{index}"), "1").unwrap();
        }
        assert!(matches!(dotenv.push("ONE_MORE", "1"), Err(DotenvError::TooMany { count: 21, .. })));
        // Replacing a variable is not one more.
        dotenv.push("V0", "2").unwrap();
        assert_eq!(dotenv.render().lines().filter(|line| line.starts_with("V0=")).collect::<Vec<_>>(), ["V0=2"]);
    }

    #[test]
    fn dollars_are_escaped_against_variable_expansion() {
        let mut dotenv = Dotenv::new();
        dotenv.push("RKO_X", "a$HOME").unwrap();
        assert_eq!(dotenv.render(), "RKO_X=a$$HOME\n");
    }

    #[test]
    fn a_large_images_json_is_left_out_and_reported() {
        let images: Vec<_> = (0..40).map(|_| signed_index()).collect();
        let (dotenv, skipped) = Dotenv::from_outputs(&Outputs::new(&images, None));
        let left_out: Vec<&str> = skipped
            .iter()
            .map(|error| match error {
                DotenvError::TooLarge { name, .. } => name.as_str(),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(left_out, [RKO_VERIFY_COMMAND, RKO_IMAGES_JSON]);
        let names: Vec<String> = parse(&dotenv.render()).unwrap().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, [RKO_DIGEST, RKO_IMAGE, RKO_TAGS]);
    }
}
