//! Selector tests: parsing and matching each operator, dropping documents with their
//! separators, removing `List` items in block and flow style, and the errors. They depend on
//! nothing else in rko.

use std::collections::BTreeMap;

use super::super::{Selector, YamlErrorKind, scan};
use super::{assert_same_structure, publish, shapes};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
    Selector::parse(selector).unwrap_or_else(|error| panic!("{error}")).matches(&labels(pairs))
}

/// Applies `selector` to `input` and renders without replacements.
fn select(input: &str, selector: &str) -> String {
    let selector = Selector::parse(selector).unwrap();
    let scanned = scan(input, Some(&selector)).unwrap_or_else(|error| panic!("{error}\n{input}"));
    scanned.render(&|_| None)
}

#[test]
fn each_operator_matches_like_kubernetes() {
    let web = [("app", "web"), ("tier", "front"), ("replicas", "3")];
    assert!(matches("", &web));
    assert!(matches("app=web", &web));
    assert!(matches("app==web", &web));
    assert!(!matches("app=db", &web));
    assert!(matches("app!=db", &web));
    assert!(!matches("app!=web", &web));
    assert!(matches("missing!=x", &web), "`!=` holds when the label is absent");
    assert!(matches("app in (db, web)", &web));
    assert!(!matches("app in (db)", &web));
    assert!(matches("app notin (db)", &web));
    assert!(!matches("app notin (web,db)", &web));
    assert!(matches("missing notin (x)", &web), "`notin` holds when the label is absent");
    assert!(matches("app", &web));
    assert!(!matches("missing", &web));
    assert!(matches("!missing", &web));
    assert!(!matches("!app", &web));
    assert!(matches("replicas>2", &web));
    assert!(!matches("replicas>3", &web));
    assert!(matches("replicas<4", &web));
    assert!(!matches("app>1", &web), "a non-integer label never satisfies `>`");
    assert!(matches(" app = web , tier in (front) , !missing ", &web));
    assert!(!matches("app=web,tier=back", &web));
    assert!(matches("example.com/role=x", &[("example.com/role", "x")]));
    assert!(matches("empty=", &[("empty", "")]));
    assert!(matches("empty in ()", &[("empty", "")]));
    assert!(matches("k in (in, notin)", &[("k", "notin")]), "keywords are values inside `()`");
    assert!(Selector::parse("").unwrap().is_empty());
}

#[test]
fn invalid_selectors_name_the_offending_text() {
    let cases = [
        ("a=b=c", "`=`"),
        ("a=b c", "`c`"),
        ("a,", "end of string"),
        (",a", "`,`"),
        ("a in (b", "end of string"),
        ("a in b", "`b`"),
        ("!a=b", "`=`"),
        ("a notin", "end of string"),
        ("Key_", "`Key_`"),
        ("a/b/c", "`a/b/c`"),
        ("/a", "`/a`"),
        ("Example.com/a=b", "`Example.com`"),
        ("a=-bad", "`-bad`"),
        ("a>x", "`x`"),
        ("a=(b)", "`(`"),
        (&"k".repeat(64), "`kkkk"),
        (&format!("a={}", "v".repeat(64)), "`vvvv"),
    ];
    for (selector, offending) in cases {
        let error = Selector::parse(selector).expect_err(selector);
        assert_eq!(error.selector, selector);
        assert!(error.reason.contains(offending), "`{selector}`: {error}");
        assert!(!error.to_string().ends_with('.'), "{error}");
    }
}

const PODS: &str = "# web pod\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\nspec:\n  containers:\n  - image: ko://example.com/web\n---\n# db pod\napiVersion: v1\nkind: Pod\nmetadata:\n  name: db\n  labels: {app: \"db\", version: 2}\nspec:\n  containers: [{image: ko://example.com/db}]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: plain\n";

#[test]
fn documents_are_dropped_with_their_separators() {
    let web_only = select(PODS, "app=web");
    assert_eq!(web_only, PODS.split("---\n").next().unwrap());
    let db_only = select(PODS, "app=db");
    assert_eq!(db_only, format!("---\n{}", PODS.split("---\n").nth(1).unwrap()));
    let not_web = select(PODS, "app!=web");
    assert_eq!(not_web, PODS.split_once("---\n").map(|(_, rest)| format!("---\n{rest}")).unwrap());
    assert_eq!(select(PODS, "version=2"), db_only);
    assert_eq!(select(PODS, "version in (3)"), "");
    assert_eq!(select(PODS, ""), PODS);
}

#[test]
fn references_in_dropped_documents_are_not_listed() {
    let selector = Selector::parse("app=db").unwrap();
    let scanned = scan(PODS, Some(&selector)).unwrap();
    let references = scanned.references();
    assert_eq!(references.len(), 1);
    assert_eq!((references[0].import_path.as_str(), references[0].document), ("example.com/db", 1));
    let output = scanned.render(&publish);
    assert_same_structure(&select(PODS, "app=db"), &output, &publish);
}

#[test]
fn end_markers_keep_following_documents_apart() {
    let input = "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\nmetadata: {labels: {drop: y}}\n...\napiVersion: v1\nkind: C\n...\n";
    let output = select(input, "!drop");
    assert_eq!(output, "apiVersion: v1\nkind: A\n...\napiVersion: v1\nkind: C\n...\n");
    assert_eq!(shapes(&output).unwrap().iter().filter(|shape| **shape == super::Shape::DocumentStart).count(), 2);
    let output = select(
        "apiVersion: v1\nkind: A\nmetadata: {labels: {drop: y}}\n...\n%YAML 1.2\n---\napiVersion: v1\nkind: B\n",
        "!drop",
    );
    assert_eq!(output, "%YAML 1.2\n---\napiVersion: v1\nkind: B\n");
}

#[test]
fn empty_documents_are_skipped() {
    let input = "---\n---\napiVersion: v1\nkind: A\n---\n~\n---\n# nothing\n";
    assert_eq!(select(input, "!x"), "---\napiVersion: v1\nkind: A\n");
}

const BLOCK_LIST: &str = "\u{feff}apiVersion: v1\r\nkind: List\r\nitems:\r\n# the web pod\r\n- apiVersion: v1\r\n  kind: Pod\r\n  metadata:\r\n    labels: {app: web}\r\n  spec: {containers: [{image: ko://example.com/web}]}  # web\r\n# the db pod\r\n- apiVersion: v1\r\n  kind: Pod\r\n  metadata:\r\n    labels:\r\n      app: db\r\n  spec:\r\n    containers:\r\n    - image: |\r\n        ko://example.com/db\r\n-   apiVersion: v1\r\n    kind: Pod\r\n    metadata: {name: nolabels}\r\n# trailing comment\r\n";

#[test]
fn block_list_items_are_removed_whole() {
    let first = "# the web pod\r\n- apiVersion: v1\r\n  kind: Pod\r\n  metadata:\r\n    labels: {app: web}\r\n  spec: {containers: [{image: ko://example.com/web}]}  # web\r\n";
    let second = "# the db pod\r\n- apiVersion: v1\r\n  kind: Pod\r\n  metadata:\r\n    labels:\r\n      app: db\r\n  spec:\r\n    containers:\r\n    - image: |\r\n        ko://example.com/db\r\n";
    let third = "-   apiVersion: v1\r\n    kind: Pod\r\n    metadata: {name: nolabels}\r\n";
    assert!(BLOCK_LIST.contains(&format!("{first}{second}{third}")));
    assert_eq!(select(BLOCK_LIST, "app=web"), BLOCK_LIST.replace(second, "").replace(third, ""));
    assert_eq!(select(BLOCK_LIST, "app=db"), BLOCK_LIST.replace(first, "").replace(third, ""));
    assert_eq!(select(BLOCK_LIST, "!app"), BLOCK_LIST.replace(first, "").replace(second, ""));
    assert_eq!(select(BLOCK_LIST, "app!=db"), BLOCK_LIST.replace(second, ""));
    assert_eq!(select(BLOCK_LIST, "app=none"), "\u{feff}");
    let selector = Selector::parse("app=db").unwrap();
    let scanned = scan(BLOCK_LIST, Some(&selector)).unwrap();
    let paths: Vec<String> = scanned.references().into_iter().map(|reference| reference.import_path).collect();
    assert_eq!(paths, ["example.com/db"]);
    assert_same_structure(&select(BLOCK_LIST, "app=db"), &scanned.render(&publish), &publish);
}

#[test]
fn flow_list_items_are_removed_with_their_commas() {
    let input = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"labels\": {\"app\": \"a\"}}},\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"labels\": {\"app\": \"b\"}}},\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"labels\": {\"app\": \"c\"}}}\n]}\n";
    let item = |name: &str| {
        format!("{{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"labels\": {{\"app\": \"{name}\"}}}}}}")
    };
    let (a, b, c) = (item("a"), item("b"), item("c"));
    assert_eq!(select(input, "app=a"), input.replace(&format!(",\n  {b},\n  {c}"), ""));
    assert_eq!(select(input, "app=b"), input.replace(&format!("{a},\n  "), "").replace(&format!(",\n  {c}"), ""));
    assert_eq!(select(input, "app=c"), input.replace(&format!("{a},\n  {b},\n  "), ""));
    assert_eq!(select(input, "app!=b"), input.replace(&format!("{b},\n  "), ""));
    assert_eq!(select(input, "app in (b,c)"), input.replace(&format!("{a},\n  "), ""));
    assert_eq!(select(input, "app=z"), "");
    let yaml = "kind: PodList\napiVersion: v1\nitems: [{apiVersion: v1, kind: Pod, metadata: {labels: {app: a}}}, {apiVersion: v1, kind: Pod}, ]\n";
    assert_eq!(
        select(yaml, "app=a"),
        "kind: PodList\napiVersion: v1\nitems: [{apiVersion: v1, kind: Pod, metadata: {labels: {app: a}}}, ]\n"
    );
    assert_eq!(select(yaml, "!app"), "kind: PodList\napiVersion: v1\nitems: [{apiVersion: v1, kind: Pod}, ]\n");
}

#[test]
fn nested_and_null_list_items() {
    let input = "apiVersion: v1\nkind: List\nitems:\n  -\n  - # comment\n    apiVersion: v1\n    kind: Pod\n    metadata:\n      labels:\n        app: web\n  - ~\n";
    assert_eq!(
        select(input, "app=web"),
        "apiVersion: v1\nkind: List\nitems:\n  - # comment\n    apiVersion: v1\n    kind: Pod\n    metadata:\n      labels:\n        app: web\n"
    );
    assert_eq!(select(input, "!app"), "apiVersion: v1\nkind: List\nitems:\n  -\n  - ~\n");
}

#[test]
fn label_values_are_read_as_text() {
    let input = "apiVersion: v1\nkind: A\nmetadata:\n  labels:\n    n: 1\n    b: true\n    q: 'x'\n    a: &v val\n    r: *v\n    e:\n";
    for selector in ["n=1", "b=true", "q=x", "a=val", "r=val", "e=", "e"] {
        assert_eq!(select(input, selector), input, "{selector}");
    }
    assert_eq!(select(input, "n=2"), "");
}

#[test]
fn documents_a_selector_cannot_apply_to_are_errors() {
    let selector = Selector::parse("app=web").unwrap();
    let cases = [
        ("apiVersion: v1\nkind: A\n---\n- a\n", 1, 4),
        ("image: ko://x\n", 0, 1),
        ("kind: Pod\n", 0, 1),
        ("apiVersion: v1\nkind: 3\n", 0, 1),
        ("apiVersion: v1\nkind: List\n", 0, 1),
        ("apiVersion: v1\nkind: List\nitems:\n- blah: ha\n", 0, 1),
        ("apiVersion: v1\nkind: List\nx: &a {apiVersion: v1, kind: Pod}\nitems: [*a]\n", 0, 1),
        ("--- plain\n", 0, 1),
    ];
    for (input, document, line) in cases {
        let Err(error) = scan(input, Some(&selector)) else {
            panic!("no error for {input}");
        };
        assert_eq!(error.kind, YamlErrorKind::NotKubernetesObject, "{input}");
        assert!(error.message.contains(&format!("document `{document}`")), "{error}");
        assert_eq!(error.line, line, "{error}");
        assert!(scan(input, None).is_ok(), "{input}");
    }
}
