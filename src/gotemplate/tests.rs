//! Tests: parity with Go's `text/template` on the cases of `go_cases.rs`
//! (with the deliberate differences listed below), ko-style ldflags cases,
//! error messages, root analysis, limits, and property tests showing that
//! no input makes parsing or execution panic.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::go_cases::GO_CASES;
use super::{Position, Template, TemplateError, Value, is_template, render};

/// What Go's `text/template` did with a template (see `go_cases.rs`); the
/// texts are kept for the failure report.
#[derive(Debug, Clone, Copy)]
pub(super) enum GoOutcome {
    Output(&'static str),
    /// Go printed bytes that are not UTF-8, which rko reports as an error.
    Invalid(&'static str),
    ParseError(&'static str),
    ExecuteError(&'static str),
}

impl GoOutcome {
    fn detail(self) -> &'static str {
        match self {
            GoOutcome::Output(text)
            | GoOutcome::Invalid(text)
            | GoOutcome::ParseError(text)
            | GoOutcome::ExecuteError(text) => text,
        }
    }
}

/// How rko deliberately differs from Go on a case of `GO_CASES`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Difference {
    Unsupported,
    /// Rejected while parsing, where Go fails only when executing.
    EarlierError,
    /// A printed value longer than rko's output limit.
    TooLong,
}

const DIFFERENCES: &[(&str, Difference)] = &[
    ("{{1.5}}", Difference::Unsupported),
    ("{{1e3}}", Difference::Unsupported),
    ("{{1i}}", Difference::Unsupported),
    ("{{.2}}", Difference::Unsupported),
    ("{{template \"x\"}}", Difference::Unsupported),
    ("{{define \"x\"}}{{end}}", Difference::Unsupported),
    ("{{block \"x\" .}}{{end}}", Difference::Unsupported),
    ("{{range .Env}}{{break}}{{end}}", Difference::Unsupported),
    ("{{html \"<a>\"}} {{urlquery \"a b\"}} {{js \"'\"}}", Difference::Unsupported),
    ("{{call .X}}", Difference::Unsupported),
    ("{{9223372036854775808}}", Difference::EarlierError),
    ("{{18446744073709551615}}", Difference::EarlierError),
    ("{{printf \"%9999999d\" 1 | len}}", Difference::TooLong),
];

/// The data scripts/gocheck/main.go executes templates with.
pub(super) fn go_data() -> Value {
    let environment: Value =
        [("VERSION", "1.2.3"), ("LDFLAGS", ""), ("EMPTY", ""), ("NAME", "world")].into_iter().collect();
    let go_environment: Value = [("GOOS", "linux"), ("GOARCH", "amd64")].into_iter().collect();
    let git: Value = [
        ("Branch", Value::from("main")),
        ("Tag", "v1.0.0".into()),
        ("ShortCommit", "abc1234".into()),
        ("FullCommit", "abc1234def5678".into()),
        ("CommitDate", "2024-01-01T00:00:00Z".into()),
        ("CommitTimestamp", 1_704_067_200.into()),
        ("IsDirty", false.into()),
        ("IsClean", true.into()),
        ("TreeState", "clean".into()),
    ]
    .into_iter()
    .collect();
    [
        ("Env", environment),
        ("GoEnv", go_environment),
        ("Date", "2024-01-02T03:04:05Z".into()),
        ("Timestamp", 1_704_164_645.into()),
        ("Git", git),
    ]
    .into_iter()
    .collect()
}

fn run(source: &str) -> Result<String, TemplateError> {
    Template::parse(source)?.execute(&go_data())
}

fn output(source: &str) -> String {
    match run(source) {
        Ok(text) => text,
        Err(error) => panic!("{source:?} failed: {error}"),
    }
}

fn error_message(source: &str) -> String {
    match run(source) {
        Ok(text) => panic!("{source:?} rendered {text:?}, expected an error"),
        Err(error) => error.to_string(),
    }
}

fn agrees_with_go(outcome: GoOutcome, parsed: bool, result: &Result<String, TemplateError>) -> bool {
    match (outcome, parsed, result) {
        (GoOutcome::Output(expected), _, Ok(actual)) => expected == actual,
        (GoOutcome::Invalid(_), _, Err(_)) | (GoOutcome::ParseError(_), false, Err(_)) => true,
        (GoOutcome::ExecuteError(_), true, Err(_)) => true,
        _ => false,
    }
}

fn shows_difference(difference: Difference, parsed: bool, result: &Result<String, TemplateError>) -> bool {
    match (difference, result) {
        (Difference::Unsupported, Err(TemplateError::Unsupported { .. })) => true,
        (Difference::EarlierError, Err(TemplateError::Parse { .. })) => !parsed,
        (Difference::TooLong, Err(TemplateError::Execute { message, .. })) => message.contains("longer than"),
        _ => false,
    }
}

#[test]
fn matches_go_text_template_except_listed_differences() {
    let data = go_data();
    let mut mismatches = Vec::new();
    for &(source, outcome) in GO_CASES {
        let parsed = Template::parse(source);
        let result = parsed.clone().and_then(|template| template.execute(&data));
        let difference = DIFFERENCES.iter().find(|(listed, _)| *listed == source);
        let expected = match difference {
            Some(&(_, difference)) => shows_difference(difference, parsed.is_ok(), &result),
            None => agrees_with_go(outcome, parsed.is_ok(), &result),
        };
        if !expected {
            let detail = outcome.detail();
            mismatches.push(format!("{source:?}\n    go:  {outcome:?} {detail:?}\n    rko: {result:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn every_listed_difference_is_a_go_case() {
    for (source, _) in DIFFERENCES {
        assert!(GO_CASES.iter().any(|(case, _)| case == source), "{source:?}");
    }
}

// Cases in the spirit of ko's pkg/build/gobuild_test.go templating.

#[test]
fn ldflags_read_environment_and_git() {
    assert_eq!(output("-X main.version={{.Env.VERSION}}"), "-X main.version=1.2.3");
    assert_eq!(output("-X main.commit={{.Git.ShortCommit}}"), "-X main.commit=abc1234");
    assert_eq!(output("-X main.date={{ .Date }}"), "-X main.date=2024-01-02T03:04:05Z");
    assert_eq!(output("-X main.unix={{.Timestamp}}"), "-X main.unix=1704164645");
    assert_eq!(output("{{.GoEnv.GOOS}}/{{.GoEnv.GOARCH}}"), "linux/amd64");
    assert_eq!(output("-X main.dirty={{.Git.IsDirty}}"), "-X main.dirty=false");
    assert_eq!(output("{{.Git.TreeState}}{{if .Git.IsClean}}!{{end}}"), "clean!");
}

#[test]
fn empty_ldflags_environment_renders_empty() {
    assert_eq!(output("{{ .Env.LDFLAGS }}"), "");
    assert_eq!(output("-s -w {{.Env.LDFLAGS}}"), "-s -w ");
}

#[test]
fn missing_environment_key_is_an_error() {
    let message = "template `-X main.v={{.Env.NOPE}}`: unknown key `.Env.NOPE`";
    assert_eq!(error_message("-X main.v={{.Env.NOPE}}"), message);
    let error = run("{{.Nope.Deeper}}").unwrap_err();
    let expected = TemplateError::MissingKey { template: "{{.Nope.Deeper}}".to_string(), path: ".Nope".to_string() };
    assert_eq!(error, expected);
    assert!(error_message("{{$x := .Git}}{{$x.Nope}}").ends_with("unknown key `$x.Nope`"));
    assert!(error_message("{{(index . \"Git\").Nope}}").ends_with("unknown key `(index . \"Git\").Nope`"));
}

#[test]
fn index_of_missing_key_gives_the_zero_value_like_go() {
    assert_eq!(output("[{{index .Env \"NOPE\"}}]"), "[]");
    assert_eq!(output("{{index .Git \"NOPE\"}}"), "<no value>");
    assert_eq!(output("{{index . \"Env\" \"VERSION\"}}"), "1.2.3");
}

#[test]
fn trim_markers_remove_surrounding_spaces() {
    assert_eq!(output("a  {{- .Env.VERSION -}}  b"), "a1.2.3b");
    assert_eq!(output("a \n\t{{- .Env.VERSION}}"), "a1.2.3");
    assert_eq!(output("{{.Env.VERSION -}} \n b"), "1.2.3b");
    assert_eq!(output("a {{-3}} b"), "a -3 b", "`{{-3` is a negative number, not a trim marker");
    assert!(run("{{.Env.VERSION-}}").is_err(), "Go needs a space before `-}}`");
}

#[test]
fn comments_render_nothing() {
    assert_eq!(output("a {{/* note */}} b"), "a  b");
    assert_eq!(output("a {{- /* note */ -}} b"), "ab");
    assert!(error_message("{{/* open").contains("unclosed comment"));
    assert!(error_message("{{/* c */ x}}").contains("comment ends before closing delimiter"));
}

#[test]
fn pipelines_pass_the_value_as_last_argument() {
    let source = "{{ .Env.VERSION | printf \"%s-%s\" \"v\" | printf \"[%s]\" }}";
    assert_eq!(output(source), "[v-1.2.3]");
    assert_eq!(output("{{.Env.EMPTY | or \"default\"}}"), "default");
    assert_eq!(output("{{.Git.Branch | len}}"), "4");
}

#[test]
fn parentheses_nest() {
    assert_eq!(output("{{((((\"deep\"))))}}"), "deep");
    assert_eq!(output("{{printf \"%s\" (printf \"%s\" (index .Env \"NAME\"))}}"), "world");
    assert_eq!(output("{{(index . \"Git\").Branch}}"), "main");
}

#[test]
fn printf_follows_go_fmt() {
    assert_eq!(output("{{printf \"%v %t %s\" true false true}}"), "true false %!s(bool=true)");
    assert_eq!(
        output("{{printf \"%d|%5s|%-5s|%05d|%x|%q|%%\" 7 \"ab\" \"ab\" 42 255 \"q\"}}"),
        "7|   ab|ab   |00042|ff|\"q\"|%"
    );
    assert_eq!(output("{{printf \"%d\"}}"), "%!d(MISSING)");
    assert_eq!(output("{{printf \"%d\" 1 \"x\"}}"), "1%!(EXTRA string=x)");
    assert_eq!(output("{{printf \"%s\" .GoEnv}}"), "map[GOARCH:amd64 GOOS:linux]");
    assert_eq!(output("{{println \"a\" 1}}"), "a 1\n");
    assert_eq!(output("{{print \"a\" \"b\" 1 2 true}}"), "ab1 2 true");
    assert_eq!(output("{{printf \"%p|%w\" \"x\" 1}}"), "%!p(string=x)|%!w(int=1)");
    let address = error_message("{{printf \"%p\" .Env}}");
    assert!(address.ends_with("verb `%p` (a map's address) is not supported"), "{address}");
}

#[test]
fn conditionals_use_go_truth() {
    let source = "{{if .Git.IsDirty}}dirty{{else if eq .Git.Branch \"main\"}}main{{else}}other{{end}}";
    assert_eq!(output(source), "main");
    assert_eq!(output("{{with .Env.EMPTY}}set{{else}}empty{{end}}"), "empty");
    assert_eq!(output("{{with .Git}}{{.Branch}}@{{$.Env.VERSION}}{{end}}"), "main@1.2.3");
    assert_eq!(output("{{with 0}}a{{else with .Env.NAME}}{{.}}{{end}}"), "world");
    assert!(run("{{if 0}}a{{else with .Env.NAME}}{{.}}{{end}}").is_err(), "Go allows `else with` only in `with`");
    assert_eq!(output("{{if and .Git.IsClean (not .Git.IsDirty)}}ok{{end}}"), "ok");
    assert_eq!(output("{{and false .Env.NOPE}}"), "false", "and stops at the first false value");
}

#[test]
fn comparisons_follow_go() {
    assert_eq!(output("{{eq 1 2 1}} {{ne \"a\" \"b\"}} {{lt 1 2}} {{ge \"a\" \"b\"}}"), "true true true false");
    assert!(error_message("{{eq 1 \"a\"}}").contains("incompatible types for comparison"));
    assert!(error_message("{{lt true false}}").contains("invalid type for comparison"));
}

#[test]
fn variables_are_scoped_to_their_block() {
    assert_eq!(output("{{$v := .Env.VERSION}}{{$v}}{{$v = \"b\"}}{{$v}}"), "1.2.3b");
    assert_eq!(output("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}"), "21");
    assert_eq!(output("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}"), "2");
    assert!(error_message("{{if true}}{{$y := 1}}{{end}}{{$y}}").contains("undefined variable `$y`"));
    assert_eq!(output("{{range $key, $value := .GoEnv}}{{$key}}={{$value}};{{end}}"), "GOARCH=amd64;GOOS=linux;");
}

#[test]
fn parse_errors_name_the_template_and_column() {
    assert_eq!(error_message("-X v={{.Env.VERSION"), "template `-X v={{.Env.VERSION`: column 6: unclosed action");
    assert_eq!(error_message("{{ nope 1 }}"), "template `{{ nope 1 }}`: column 4: function `nope` is not defined");
    let missing_end =
        "template `{{if .Git.IsDirty}}x`: column 21: unexpected end of template: missing `{{end}}` for `{{if}}`";
    assert_eq!(error_message("{{if .Git.IsDirty}}x"), missing_end);
    assert!(error_message("{{end}}").ends_with("column 1: unexpected `{{end}}`"));
    assert!(error_message("{{}}").contains("missing value for command"));
    assert!(error_message("a\n{{\"open}}").contains(": line 2, column 3: unterminated quoted string"));
}

#[test]
fn unsupported_constructs_are_rejected() {
    for source in
        ["{{template \"x\"}}", "{{define \"x\"}}{{end}}", "{{range .Env}}{{break}}{{end}}", "{{1.5}}", "{{html \"x\"}}"]
    {
        assert!(matches!(run(source), Err(TemplateError::Unsupported { .. })), "{source}");
    }
}

#[test]
fn range_iterates_maps_in_key_order_and_integers() {
    assert_eq!(output("{{range .Env}}[{{.}}]{{end}}"), "[][][world][1.2.3]");
    assert_eq!(output("{{range $i := 3}}{{$i}}{{end}}"), "012");
    assert_eq!(output("{{range -1}}x{{else}}none{{end}}"), "none");
    assert!(error_message("{{range $k, $v := 3}}{{end}}").contains("more than one variable"));
    assert!(error_message("{{range 9999999999}}{{end}}").contains("`range` iterations"));
    let nested = "{{range 1000}}{{range 1000}}{{range 1000}}{{end}}{{end}}{{end}}";
    assert!(error_message(nested).contains("`range` iterations"));
}

#[test]
fn error_positions_count_characters() {
    let error = Template::parse("é{{.X").unwrap_err();
    let TemplateError::Parse { position, .. } = error else {
        panic!("{error:?}");
    };
    assert_eq!(position, Position { line: 1, column: 2 });
}

#[test]
fn referenced_roots_lists_top_level_fields() {
    let roots = |source: &str| Template::parse(source).unwrap().referenced_roots();
    let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(roots("-X a={{.Env.A}} -X b={{.Git.ShortCommit}}"), names(&["Env", "Git"]));
    assert_eq!(roots("{{with .Git}}{{.Branch}}{{$.Date}}{{end}}"), names(&["Date", "Git"]));
    assert_eq!(roots("{{range .GoEnv}}{{.}}{{end}}"), names(&["GoEnv"]));
    assert_eq!(roots("{{if .Env.X}}{{.Timestamp}}{{end}}"), names(&["Env", "Timestamp"]));
    assert_eq!(roots("{{printf \"%s\" (index .Env \"X\")}}"), names(&["Env"]));
    assert_eq!(roots("plain {{\"text\"}}"), names(&[]));
}

#[test]
fn whole_data_use_is_flagged() {
    let template = |source: &str| Template::parse(source).unwrap();
    for source in ["{{.}}", "{{$}}", "{{index . \"Git\"}}", "{{with .}}{{.Git}}{{end}}", "{{$x := $}}"] {
        let parsed = template(source);
        assert!(parsed.references_whole_data(), "{source}");
        assert!(parsed.may_reference("GoEnv"), "{source}");
    }
    let parsed = template("{{with .Env}}{{.}}{{end}}");
    assert!(!parsed.references_whole_data());
    assert!(parsed.may_reference("Env") && !parsed.may_reference("Git"));
}

#[test]
fn plain_strings_skip_templating() {
    assert!(!is_template("-s -w"));
    assert!(is_template("-X a={{.Env.A}}"));
    assert_eq!(render("-s -w }}", &Value::Nil).unwrap(), "-s -w }}");
    assert_eq!(render("{{.A}}", &[("A", "b")].into_iter().collect()).unwrap(), "b");
}

#[test]
fn values_convert_from_rust_types() {
    let map: BTreeMap<String, Value> = [("k".to_string(), Value::from(3))].into_iter().collect();
    assert_eq!(Value::from(map.clone()), Value::Map(map));
    assert_eq!(Value::from(String::from("s")), Value::String("s".to_string()));
    assert_eq!(Value::from(true), Value::Bool(true));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let parentheses = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(error_message(&parentheses).contains("nesting deeper than"));
    let blocks = format!("{}x{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
    assert!(error_message(&blocks).contains("nesting deeper than"));
    let fine = format!("{}x{}", "{{with 1}}".repeat(90), "{{end}}".repeat(90));
    assert_eq!(output(&fine), "x");
}

#[test]
fn runaway_output_is_an_error() {
    let mut source = String::from("{{$x := \"abcdefgh\"}}");
    source.push_str(&"{{$x = print $x $x}}".repeat(40));
    assert!(error_message(&source).contains("longer than"));
    assert!(error_message(&"{{printf \"%999999d\" 1}}".repeat(3)).contains("longer than"));
}

/// Pieces that make random strings likely to look like templates.
const FRAGMENTS: &[&str] = &[
    "{{", "}}", "{{- ", " -}}", "-", " ", ".", "$", "$x", ":=", "=", ",", "(", ")", "|", "\"", "`", "'", "\\", "/*",
    "*/", ".Env", ".VERSION", ".Git", ".NOPE", "if", "else", "end", "range", "with", "printf", "print", "index",
    "slice", "len", "eq", "lt", "and", "or", "not", "nil", "true", "1", "-3", "0x1F", "1.5", "%d", "%s", "%*[2]v", "é",
    "\n", "x",
];

fn check_never_panics(source: &str) {
    let data = go_data();
    if let Ok(template) = Template::parse(source) {
        let _ = template.execute(&data);
        let _ = template.referenced_roots();
        let _ = template.references_whole_data();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        check_never_panics(&source);
    }

    #[test]
    fn template_like_text_never_panics(pieces in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40)) {
        check_never_panics(&pieces.concat());
    }
}

#[test]
fn random_bytes_never_panic() {
    const ALPHABET: &[u8] = b"{}-. $()|\"`'x1%dif\n\xc3\xa9";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let length = (next() % 48) as usize;
        let bytes: Vec<u8> = (0..length).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]).collect();
        check_never_panics(&String::from_utf8_lossy(&bytes));
    }
}
