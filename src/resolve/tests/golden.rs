//! Golden tests: hand-written manifests whose rewritten text must equal the input with only
//! the expected scalars replaced, and parse to the same events apart from those values. They
//! depend on nothing else in rko.

use super::super::{YamlErrorKind, scan};
use super::{assert_same_structure, publish, reference_for};

/// Rewrites `input` with [`publish`] and checks it against `expected` and the event structure.
fn check(input: &str, expected: &str) {
    let scanned = scan(input, None).unwrap_or_else(|error| panic!("scan failed: {error}\n{input}"));
    let output = scanned.render(&publish);
    assert_eq!(output, expected, "\ninput:\n{input}");
    assert_same_structure(input, &output, &publish);
    assert_eq!(scanned.render(&|_| None), input, "rendering without replacements");
}

/// Replaces each `(needle, import path)` in `text`: the needle must occur exactly once, and
/// its `ko://import-path` part becomes the reference.
fn substitute(text: &str, edits: &[(&str, &str)]) -> String {
    let mut result = text.to_string();
    for (needle, import_path) in edits {
        assert_eq!(result.matches(needle).count(), 1, "needle `{needle}` must occur once");
        let replaced = needle.replace(&format!("ko://{import_path}"), &reference_for(import_path));
        assert_ne!(&replaced, needle, "needle `{needle}` lacks `ko://{import_path}`");
        result = result.replace(needle, &replaced);
    }
    result
}

const MANIFEST: &str = r#"# Leading comment: ko://example.com/not/this
apiVersion: apps/v1
kind: Deployment   # trailing comment
metadata:
  name: web
  labels: {app: web, tier: "front"}
spec:
  template:
    spec:
      containers:
        - name: web
          image: ko://example.com/app/cmd/web  # the server
          args: ["--flag=ko://example.com/app/cmd/flag", 'ko://example.com/app/cmd/single']
          env:
          - {name: A, value: "ko://example.com/app/cmd/double"}
          - name: B
            value: &shared ko://example.com/app/cmd/anchored
          - name: C
            value: *shared
          - name: D
            value: !!str ko://example.com/app/cmd/tagged
          - name: E
            value: !custom ko://example.com/app/cmd/custom
          - name: F
            value: !!binary a28vL2V4YW1wbGU=
---
# Second document
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: one}
  spec:
    containers:
    - image: "ko://example.com/app/cmd/one"
...
--- ko://example.com/app/cmd/root
...
"#;

fn manifest_expected() -> String {
    substitute(
        MANIFEST,
        &[
            ("image: ko://example.com/app/cmd/web", "example.com/app/cmd/web"),
            ("'ko://example.com/app/cmd/single'", "example.com/app/cmd/single"),
            ("\"ko://example.com/app/cmd/double\"", "example.com/app/cmd/double"),
            ("&shared ko://example.com/app/cmd/anchored", "example.com/app/cmd/anchored"),
            ("!!str ko://example.com/app/cmd/tagged", "example.com/app/cmd/tagged"),
            ("\"ko://example.com/app/cmd/one\"", "example.com/app/cmd/one"),
            ("--- ko://example.com/app/cmd/root", "example.com/app/cmd/root"),
        ],
    )
}

#[test]
fn manifest_keeps_everything_but_references() {
    check(MANIFEST, &manifest_expected());
}

#[test]
fn references_are_listed_in_order_with_positions() {
    let scanned = scan(MANIFEST, None).unwrap();
    let references = scanned.references();
    let paths: Vec<&str> = references.iter().map(|reference| reference.import_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "example.com/app/cmd/web",
            "example.com/app/cmd/single",
            "example.com/app/cmd/double",
            "example.com/app/cmd/anchored",
            "example.com/app/cmd/tagged",
            "example.com/app/cmd/one",
            "example.com/app/cmd/root",
        ]
    );
    let web = &references[0];
    assert_eq!((web.document, web.line, web.column), (0, 12, 18));
    assert_eq!(&MANIFEST[web.span.clone()], "ko://example.com/app/cmd/web");
    let single = &references[1];
    assert_eq!(&MANIFEST[single.span.clone()], "'ko://example.com/app/cmd/single'");
    let anchored = &references[3];
    assert_eq!(&MANIFEST[anchored.span.clone()], "ko://example.com/app/cmd/anchored");
    assert_eq!(references[5].document, 1);
    assert_eq!((references[6].document, references[6].line, references[6].column), (2, 38, 5));
}

#[test]
fn crlf_line_endings_survive() {
    let input = MANIFEST.replace('\n', "\r\n");
    check(&input, &manifest_expected().replace('\n', "\r\n"));
    let references = scan(&input, None).unwrap().references();
    assert_eq!((references[0].line, references[0].column), (12, 18));
}

#[test]
fn byte_order_mark_survives() {
    let input = format!("\u{feff}{MANIFEST}");
    check(&input, &format!("\u{feff}{}", manifest_expected()));
    let input = "\u{feff}image: ko://example.com/x # é\r\nname: é\r\nother: ko://é\r\n";
    let expected = format!(
        "\u{feff}image: {} # é\r\nname: é\r\nother: \"{}\"\r\n",
        reference_for("example.com/x"),
        reference_for("é")
    );
    check(input, &expected);
    let references = scan(input, None).unwrap().references();
    assert_eq!((references[1].line, references[1].column), (3, 8));
    assert_eq!((references[0].line, references[0].column), (1, 8));
}

#[test]
fn json_keeps_its_quotes() {
    let input = "{\n  \"apiVersion\": \"v1\",\n  \"spec\": {\"containers\": [{\"image\": \"ko://example.com/x\"}]},\n  \"args\": [\"ko://example.com/y\",\"--x=ko://example.com/z\"]\n}\n";
    let expected =
        substitute(input, &[("\"ko://example.com/x\"", "example.com/x"), ("\"ko://example.com/y\"", "example.com/y")]);
    check(input, &expected);
}

#[test]
fn block_scalars_keep_header_and_indentation() {
    let input = "a: |\n  ko://example.com/a\nb: >-  # folded\n    ko://example.com/b\n\nc: |+\n  ko://example.com/c\n\n\nd: &d |2\n  ko://example.com/d\ne:\n- !!str >\n  ko://example.com/e\n- |-\n     ko://example.com/f\n";
    let expected = substitute(
        input,
        &[
            ("  ko://example.com/a\n", "example.com/a"),
            ("    ko://example.com/b\n", "example.com/b"),
            ("  ko://example.com/c\n", "example.com/c"),
            ("ko://example.com/d", "example.com/d"),
            ("  ko://example.com/e\n", "example.com/e"),
            ("ko://example.com/f", "example.com/f"),
        ],
    );
    check(input, &expected);
}

#[test]
fn plain_multi_line_and_quoted_multi_line_scalars() {
    let input =
        "a: ko://example.com/a\n  continued  # comment\nb: \"ko://example.com/b\n  next\"\nc: 'ko://x\n\n  y'\n";
    let scanned = scan(input, None).unwrap();
    let paths: Vec<String> = scanned.references().into_iter().map(|reference| reference.import_path).collect();
    assert_eq!(paths, ["example.com/a continued", "example.com/b next", "x\ny"]);
    let output = scanned.render(&|_| Some("r.io/x@sha256:1".to_string()));
    assert_eq!(output, "a: r.io/x@sha256:1  # comment\nb: \"r.io/x@sha256:1\"\nc: 'r.io/x@sha256:1'\n");
}

#[test]
fn keys_are_replaced_like_ko() {
    let input = "ko://example.com/key: value\n{ko://example.com/flow: 1, \"ko://example.com/quoted\": 2}: x\n";
    let expected = substitute(
        input,
        &[
            ("ko://example.com/key:", "example.com/key"),
            ("{ko://example.com/flow:", "example.com/flow"),
            ("\"ko://example.com/quoted\"", "example.com/quoted"),
        ],
    );
    check(input, &expected);
}

#[test]
fn awkward_replacements_are_quoted() {
    let input = "a: ko://a\nb: 'ko://b'\nc: |\n  ko://c\nd: [ko://d]\n";
    let weird = |path: &str| {
        Some(match path {
            "a" => "yes".to_string(),
            "b" => "it's\nnew".to_string(),
            "c" => " leading".to_string(),
            _ => "x, y: #z".to_string(),
        })
    };
    let output = scan(input, None).unwrap().render(&weird);
    assert_eq!(output, "a: \"yes\"\nb: \"it's\\nnew\"\nc: \" leading\"\nd: [\"x, y: #z\"]\n");
    assert_same_structure(input, &output, &weird);
    let single = scan("b: 'ko://b'\n", None).unwrap().render(&|_| Some("it's".to_string()));
    assert_eq!(single, "b: 'it''s'\n");
}

#[test]
fn document_markers_and_directives_survive() {
    let input = "%YAML 1.2\n---\na: ko://example.com/a\n...\n# between\n---\n- ko://example.com/b\n...\n";
    let expected =
        substitute(input, &[("a: ko://example.com/a", "example.com/a"), ("- ko://example.com/b", "example.com/b")]);
    check(input, &expected);
}

#[test]
fn scalars_that_are_not_references_stay() {
    let input = "a: --flag=ko://x\nb: \" ko://x\"\nc: !!binary ko://x\nd: !local ko://x\ne: KO://x\nf: *g\n";
    let input = format!("g: &g ko://anchor\n{input}");
    let scanned = scan(&input, None).unwrap();
    let paths: Vec<String> = scanned.references().into_iter().map(|reference| reference.import_path).collect();
    assert_eq!(paths, ["anchor"]);
    assert_eq!(scanned.render(&publish), input.replacen("ko://anchor", &reference_for("anchor"), 1));
}

#[test]
fn verbatim_and_non_specific_tags_count_as_strings() {
    let input = "a: !<tag:yaml.org,2002:str> ko://a\nb: ! ko://b\n";
    let expected = substitute(input, &[("> ko://a", "a"), ("! ko://b", "b")]);
    check(input, &expected);
}

#[test]
fn malformed_yaml_reports_a_position() {
    let error = scan("a: b\n  c: d\n", None).unwrap_err();
    assert_eq!(error.kind, YamlErrorKind::Syntax);
    assert_eq!((error.line, error.column), (2, 4));
    assert!(error.to_string().starts_with("2:4: "), "{error}");
    let error = scan("a: [b\n", None).unwrap_err();
    assert_eq!(error.kind, YamlErrorKind::Syntax);
    assert!(error.line >= 1);
}

#[test]
fn empty_and_comment_only_inputs() {
    for input in ["", "# only a comment\n", "---\n", "---\n...\n", "\u{feff}"] {
        let scanned = scan(input, None).unwrap();
        assert!(scanned.references().is_empty());
        assert_eq!(scanned.render(&publish), input);
    }
}

#[test]
fn deep_nesting_is_handled_or_refused() {
    let nested = |depth: usize| format!("{}ko://deep{}\n", "[".repeat(depth), "]".repeat(depth));
    let input = nested(200);
    let scanned = scan(&input, None).unwrap();
    assert_eq!(scanned.references().len(), 1);
    let output = scanned.render(&publish);
    assert_eq!(output, input.replace("ko://deep", &reference_for("deep")));
    let error = scan(&nested(100_000), None).unwrap_err();
    assert_eq!(error.kind, YamlErrorKind::Syntax);
    let block: String = (0..3_000).map(|level| format!("{}- \n", " ".repeat(level))).collect();
    let _ = scan(&block, None).map(|scanned| scanned.render(&publish));
}

#[test]
fn explicit_keys_tabs_and_flow_roots() {
    let input = "? ko://example.com/k\n: ko://example.com/v\t# tab before comment\nt: \tko://example.com/t\n---\n[ko://example.com/a, \"ko://example.com/b\",\n  ko://example.com/c]\n";
    let expected = substitute(
        input,
        &[
            ("? ko://example.com/k", "example.com/k"),
            (": ko://example.com/v", "example.com/v"),
            ("\tko://example.com/t", "example.com/t"),
            ("[ko://example.com/a", "example.com/a"),
            ("\"ko://example.com/b\"", "example.com/b"),
            ("  ko://example.com/c", "example.com/c"),
        ],
    );
    check(input, &expected);
}
