//! The job summary: one compact Markdown table per run (image@digest, tags, per-platform
//! digests and sizes, cache hits, build and push time, SBOM formats, signatures and
//! attestations) and the copy-paste `cosign verify` lines, far under GitHub's 1 MiB step limit
//! (rows past [`MAXIMUM_ROWS`] are left out with a note). Takes its own small input types,
//! filled from the run's report; renders text only.

use std::fmt::Write;

use serde::Serialize;

/// Images past this many are left out of the table (the `images` output has them all).
pub const MAXIMUM_ROWS: usize = 200;

/// One platform's image.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SummaryPlatform {
    pub platform: String,
    pub digest: String,
    /// Compressed size of the image's layers, config and manifest, in bytes (0: not measured).
    pub size: u64,
    /// Whether the layers came from the cache (not rebuilt).
    pub cached: bool,
}

/// A signature over the image.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SummarySignature {
    /// The referrer's digest or the legacy `.sig` tag.
    pub reference: String,
    /// The certificate's identity (SAN) and OIDC issuer, for keyless signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The transparency log entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rekor_log_index: Option<u64>,
}

/// An attestation attached to the image.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SummaryAttestation {
    /// `https://slsa.dev/provenance/v1`, `https://spdx.dev/Document`, ...
    pub predicate_type: String,
    /// The referrer's digest.
    pub reference: String,
}

/// One import path's result.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SummaryImage {
    pub import_path: String,
    /// The reference rko printed.
    pub reference: String,
    /// The repository, without tag or digest.
    pub name: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub platforms: Vec<SummaryPlatform>,
    /// SBOM formats attached (`spdx`, `cyclonedx`).
    pub sboms: Vec<String>,
    pub signatures: Vec<SummarySignature>,
    pub attestations: Vec<SummaryAttestation>,
    pub build_seconds: f64,
    /// `None` when nothing was pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_seconds: Option<f64>,
}

impl SummaryImage {
    /// `name@digest`.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.name, self.digest)
    }
}

/// Quote a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = |character: char| character.is_ascii_alphanumeric() || "@%+=:,./_-".contains(character);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The `cosign verify` command for a signed image: keyless with the certificate's identity and
/// issuer, or `--key` for key-based signatures.
pub fn verify_command(image: &SummaryImage) -> Option<String> {
    let signature = image.signatures.first()?;
    let target = shell_quote(&image.pinned());
    Some(match (&signature.identity, &signature.issuer) {
        (Some(identity), Some(issuer)) => format!(
            "cosign verify {target} --certificate-identity={} --certificate-oidc-issuer={}",
            shell_quote(identity),
            shell_quote(issuer)
        ),
        _ => format!("cosign verify --key cosign.pub {target}"),
    })
}

/// A code span that survives a table cell: pipes escaped, backticks fenced.
fn code(text: &str) -> String {
    let text = text.replace('|', r"\|").replace(['\n', '\r'], " ");
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}

/// Plain text for a table cell.
fn plain(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', r"\|").replace(['\n', '\r'], " ")
}

/// `1.5 MiB`-style sizes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn seconds(value: f64) -> String {
    if value < 10.0 { format!("{value:.1} s") } else { format!("{value:.0} s") }
}

/// `sha256:` and the first 12 hex digits.
fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(12, |colon| colon + 13);
    digest.get(..end).unwrap_or(digest)
}

fn predicate_name(predicate_type: &str) -> String {
    if predicate_type.starts_with("https://slsa.dev/provenance/") {
        "SLSA provenance".to_owned()
    } else if predicate_type.starts_with("https://spdx.dev/Document") {
        "SPDX".to_owned()
    } else if predicate_type.starts_with("https://cyclonedx.org/bom") {
        "CycloneDX".to_owned()
    } else {
        code(predicate_type)
    }
}

fn sbom_name(format: &str) -> String {
    match format {
        "spdx" => "SPDX".to_owned(),
        "cyclonedx" => "CycloneDX".to_owned(),
        other => plain(other),
    }
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 { format!("1 {word}") } else { format!("{count} {word}s") }
}

fn platforms_cell(image: &SummaryImage) -> String {
    let lines: Vec<String> = image
        .platforms
        .iter()
        .map(|platform| {
            let digest = if platform.digest == image.digest || platform.digest.is_empty() {
                String::new()
            } else {
                format!(" {}", code(short_digest(&platform.digest)))
            };
            let cached = if platform.cached { " (cached)" } else { "" };
            // A size of 0 means "not measured" (the report does not carry sizes yet).
            let size = if platform.size == 0 { String::new() } else { format!(" {}", human_size(platform.size)) };
            format!("{}{digest}{size}{cached}", code(&platform.platform))
        })
        .collect();
    if lines.is_empty() { "—".to_owned() } else { lines.join("<br>") }
}

fn signed_cell(image: &SummaryImage) -> String {
    let mut parts = Vec::new();
    if !image.signatures.is_empty() {
        let logs: Vec<String> = image
            .signatures
            .iter()
            .filter_map(|signature| signature.rekor_log_index)
            .map(|index| format!("[log {index}](https://search.sigstore.dev/?logIndex={index})"))
            .collect();
        let logs = if logs.is_empty() { String::new() } else { format!(" ({})", logs.join(", ")) };
        parts.push(format!("{}{logs}", plural(image.signatures.len(), "signature")));
    }
    if !image.attestations.is_empty() {
        let names: Vec<String> = image.attestations.iter().map(|a| predicate_name(&a.predicate_type)).collect();
        parts.push(format!("attested: {}", names.join(", ")));
    }
    if parts.is_empty() { "—".to_owned() } else { parts.join("<br>") }
}

fn row(image: &SummaryImage) -> String {
    let tags = if image.tags.is_empty() {
        "—".to_owned()
    } else {
        image.tags.iter().map(|tag| code(tag)).collect::<Vec<_>>().join(" ")
    };
    let sboms = if image.sboms.is_empty() {
        "—".to_owned()
    } else {
        image.sboms.iter().map(|format| sbom_name(format)).collect::<Vec<_>>().join(", ")
    };
    let time = match image.push_seconds {
        Some(push) => format!("build {}<br>push {}", seconds(image.build_seconds), seconds(push)),
        None => format!("build {}", seconds(image.build_seconds)),
    };
    format!(
        "| {}<br>{} | {tags} | {} | {sboms} | {} | {time} |\n",
        code(&image.import_path),
        code(&image.pinned()),
        platforms_cell(image),
        signed_cell(image)
    )
}

/// The Markdown summary of a run.
pub fn render(images: &[SummaryImage]) -> String {
    let mut markdown = String::new();
    let pushed = images.iter().any(|image| image.push_seconds.is_some());
    let verb = if pushed { "published" } else { "built" };
    let _ = writeln!(markdown, "### rko {verb} {}\n", plural(images.len(), "image"));
    let builds: Vec<&SummaryPlatform> = images.iter().flat_map(|image| &image.platforms).collect();
    let cached = builds.iter().filter(|platform| platform.cached).count();
    if !builds.is_empty() {
        let _ = writeln!(markdown, "{cached} of {} came from the cache.\n", plural(builds.len(), "platform build"));
    }
    markdown.push_str("| Image | Tags | Platforms | SBOM | Signatures | Time |\n|---|---|---|---|---|---|\n");
    let shown = &images[..images.len().min(MAXIMUM_ROWS)];
    for image in shown {
        markdown.push_str(&row(image));
    }
    if images.len() > shown.len() {
        let _ = writeln!(
            markdown,
            "\n*{} more left out to keep this summary small; the `images` output lists every image.*",
            plural(images.len() - shown.len(), "image")
        );
    }
    let commands: Vec<String> = shown.iter().filter_map(verify_command).collect();
    if !commands.is_empty() {
        let _ = writeln!(markdown, "\nVerify:\n\n```sh\n{}\n```", commands.join("\n"));
    }
    markdown
}

#[cfg(test)]
#[path = "summary_tests.rs"]
pub(crate) mod tests;
