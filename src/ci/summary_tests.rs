//! Snapshot-style tests of the summary with fixed inputs.

use super::*;

const INDEX: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const AMD64: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const ARM64: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

pub(crate) fn signed_index() -> SummaryImage {
    SummaryImage {
        import_path: "example.com/app/cmd/server".to_owned(),
        reference: format!("ghcr.io/acme/server@{INDEX}"),
        name: "ghcr.io/acme/server".to_owned(),
        digest: INDEX.to_owned(),
        tags: vec!["1.2.3".to_owned(), "latest".to_owned()],
        platforms: vec![
            SummaryPlatform {
                platform: "linux/amd64".to_owned(),
                digest: AMD64.to_owned(),
                size: 2_202_009,
                cached: true,
            },
            SummaryPlatform {
                platform: "linux/arm64".to_owned(),
                digest: ARM64.to_owned(),
                size: 2_097_152,
                cached: false,
            },
        ],
        sboms: vec!["spdx".to_owned(), "cyclonedx".to_owned()],
        signatures: vec![SummarySignature {
            reference: "sha256:4444".to_owned(),
            identity: Some("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3".to_owned()),
            issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            rekor_log_index: Some(123_456),
        }],
        attestations: vec![SummaryAttestation {
            predicate_type: "https://slsa.dev/provenance/v1".to_owned(),
            reference: "sha256:5555".to_owned(),
        }],
        build_seconds: 3.25,
        push_seconds: Some(12.4),
    }
}

pub(crate) fn local_image() -> SummaryImage {
    SummaryImage {
        import_path: "example.com/app/cmd/worker".to_owned(),
        reference: format!("ko.local/worker:latest@{AMD64}"),
        name: "ko.local/worker".to_owned(),
        digest: AMD64.to_owned(),
        tags: vec![],
        platforms: vec![SummaryPlatform {
            platform: "linux/amd64".to_owned(),
            digest: AMD64.to_owned(),
            size: 900,
            cached: false,
        }],
        sboms: vec![],
        signatures: vec![],
        attestations: vec![],
        build_seconds: 0.5,
        push_seconds: None,
    }
}

#[test]
fn renders_one_table_with_verify_lines() {
    let expected = format!(
        "\
### rko published 2 images

1 of 3 platform builds came from the cache.

| Image | Tags | Platforms | SBOM | Signatures | Time |
|---|---|---|---|---|---|
| `example.com/app/cmd/server`<br>`ghcr.io/acme/server@{INDEX}` | `1.2.3` `latest` | `linux/amd64` `sha256:222222222222` 2.1 MiB (cached)<br>`linux/arm64` `sha256:333333333333` 2.0 MiB | SPDX, CycloneDX | 1 signature ([log 123456](https://search.sigstore.dev/?logIndex=123456))<br>attested: SLSA provenance | build 3.2 s<br>push 12 s |
| `example.com/app/cmd/worker`<br>`ko.local/worker@{AMD64}` | — | `linux/amd64` 900 B | — | — | build 0.5 s |

Verify:

```sh
cosign verify ghcr.io/acme/server@{INDEX} --certificate-identity=https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3 --certificate-oidc-issuer=https://token.actions.githubusercontent.com
```
"
    );
    assert_eq!(render(&[signed_index(), local_image()]), expected);
}

#[test]
fn a_local_build_says_built_and_has_no_verify_block() {
    let markdown = render(&[local_image()]);
    assert!(
        markdown.starts_with("### rko built 1 image\n\n0 of 1 platform build came from the cache.\n"),
        "{markdown}"
    );
    assert!(!markdown.contains("cosign"));
}

#[test]
fn cells_escape_pipes_backticks_and_html() {
    let mut image = local_image();
    image.tags = vec!["a|b".to_owned()];
    image.import_path = "odd`path".to_owned();
    image.sboms = vec!["<x>".to_owned()];
    let markdown = render(&[image]);
    assert!(markdown.contains(r"`a\|b`"), "{markdown}");
    assert!(markdown.contains("`` odd`path ``"), "{markdown}");
    assert!(markdown.contains("&lt;x&gt;"), "{markdown}");
    // Every table row keeps its six cells.
    for line in markdown.lines().filter(|line| line.starts_with("| ")) {
        assert_eq!(line.replace(r"\|", "").matches('|').count(), 7, "{line}");
    }
}

#[test]
fn many_images_are_cut_with_a_note_far_under_the_limit() {
    let images: Vec<SummaryImage> = (0..1000)
        .map(|index| {
            let mut image = signed_index();
            image.import_path = format!("example.com/app/cmd/tool{index}");
            image
        })
        .collect();
    let markdown = render(&images);
    assert_eq!(markdown.lines().filter(|line| line.starts_with("| `example.com")).count(), MAXIMUM_ROWS);
    assert!(
        markdown.contains(
            "\n*800 images more left out to keep this summary small; the `images` output lists every image.*\n"
        )
    );
    assert_eq!(markdown.matches("cosign verify").count(), MAXIMUM_ROWS);
    assert!(markdown.len() < 256 * 1024, "{}", markdown.len());
}

#[test]
fn verify_commands_quote_for_the_shell_and_fall_back_to_a_key() {
    let mut image = signed_index();
    image.signatures[0].identity = Some("https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main it's".to_owned());
    let command = verify_command(&image).unwrap();
    assert!(command.ends_with(r"--certificate-identity='https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main it'\''s' --certificate-oidc-issuer=https://token.actions.githubusercontent.com"), "{command}");
    image.signatures[0].issuer = None;
    assert_eq!(verify_command(&image).unwrap(), format!("cosign verify --key cosign.pub ghcr.io/acme/server@{INDEX}"));
    assert_eq!(verify_command(&local_image()), None);
}

#[test]
fn sizes_read_like_people_write_them() {
    assert_eq!(human_size(0), "0 B");
    assert_eq!(human_size(1023), "1023 B");
    assert_eq!(human_size(1536), "1.5 KiB");
    assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
}
