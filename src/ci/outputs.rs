//! The named outputs of a run, the same on every CI: `digest`, `image` (`name@digest`),
//! `images` (JSON: every import path with its platforms, tags, SBOMs, signatures and
//! attestations), `tags`, `verify-command` and `resolved-yaml`. GitHub writes them as step
//! outputs ([`super::github`]), GitLab as `RKO_*` dotenv variables ([`super::dotenv`]).

use super::summary::{SummaryImage, verify_command};

pub const DIGEST: &str = "digest";
pub const IMAGE: &str = "image";
pub const IMAGES: &str = "images";
pub const TAGS: &str = "tags";
pub const VERIFY_COMMAND: &str = "verify-command";
pub const RESOLVED_YAML: &str = "resolved-yaml";

/// The run's outputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// The first image's digest (with several import paths, `images` has each one's).
    pub digest: Option<String>,
    /// The first image, `name@digest`.
    pub image: Option<String>,
    /// Every image, as one line of JSON.
    pub images: String,
    /// Every tag applied, in order, without repetition.
    pub tags: Vec<String>,
    /// One `cosign verify` command per signed image.
    pub verify_commands: Vec<String>,
    pub resolved_yaml: Option<String>,
}

impl Outputs {
    pub fn new(images: &[SummaryImage], resolved_yaml: Option<String>) -> Outputs {
        let first = images.first();
        let mut tags: Vec<String> = Vec::new();
        for tag in images.iter().flat_map(|image| &image.tags) {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        Outputs {
            digest: first.map(|image| image.digest.clone()),
            image: first.map(SummaryImage::pinned),
            // Plain structs of strings and numbers always serialize.
            images: serde_json::to_string(images).unwrap_or_else(|_| "[]".to_owned()),
            tags,
            verify_commands: images.iter().filter_map(verify_command).collect(),
            resolved_yaml,
        }
    }

    /// `(name, value)` pairs for GitHub step outputs; lists are newline-separated and absent
    /// values are left out.
    pub fn github(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut add = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name.to_owned(), value));
            }
        };
        add(DIGEST, self.digest.clone());
        add(IMAGE, self.image.clone());
        add(IMAGES, Some(self.images.clone()));
        add(TAGS, Some(self.tags.join("\n")));
        add(VERIFY_COMMAND, Some(self.verify_commands.join("\n")));
        add(RESOLVED_YAML, self.resolved_yaml.clone());
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::summary::tests::{local_image, signed_index};

    #[test]
    fn outputs_describe_the_first_image_and_list_them_all() {
        let outputs = Outputs::new(&[signed_index(), local_image()], None);
        let index = signed_index();
        assert_eq!(outputs.digest.as_deref(), Some(index.digest.as_str()));
        assert_eq!(outputs.image, Some(format!("ghcr.io/acme/server@{}", index.digest)));
        assert_eq!(outputs.tags, ["1.2.3", "latest"]);
        assert_eq!(outputs.verify_commands.len(), 1);
        let images: serde_json::Value = serde_json::from_str(&outputs.images).unwrap();
        assert_eq!(images[0]["platforms"][1]["platform"], "linux/arm64");
        assert_eq!(images[0]["signatures"][0]["rekor_log_index"], 123_456);
        assert_eq!(images[1]["import_path"], "example.com/app/cmd/worker");
        assert!(!outputs.images.contains('\n'));

        let names: Vec<String> = outputs.github().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["digest", "image", "images", "tags", "verify-command"]);
    }

    #[test]
    fn no_images_give_empty_lists_and_no_digest() {
        let outputs = Outputs::new(&[], Some("kind: Pod\n".to_owned()));
        assert_eq!((outputs.digest, outputs.image), (None, None));
        assert_eq!(outputs.images, "[]");
        let github = Outputs::new(&[], Some("kind: Pod\n".to_owned())).github();
        assert_eq!(github.last().unwrap(), &("resolved-yaml".to_owned(), "kind: Pod\n".to_owned()));
    }
}
