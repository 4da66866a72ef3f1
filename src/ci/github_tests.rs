//! File commands round-trip through the runner's parser; workflow commands escape as the toolkit.

use super::*;

#[test]
fn single_line_values_use_name_equals_value() {
    assert_eq!(entry("digest", "sha256:abc", "D").unwrap(), "digest=sha256:abc\n");
    assert_eq!(entry("empty", "", "D").unwrap(), "empty=\n");
    assert_eq!(entry("tricky", "a<<b=c", "D").unwrap(), "tricky=a<<b=c\n");
}

#[test]
fn multi_line_values_use_a_heredoc_that_must_not_occur_in_the_value() {
    assert_eq!(entry("tags", "a\nb", "ghadelimiter_x").unwrap(), "tags<<ghadelimiter_x\na\nb\nghadelimiter_x\n");
    let error = entry("tags", "a\nghadelimiter_x\nb", "ghadelimiter_x").unwrap_err();
    assert!(matches!(error, GithubError::DelimiterInValue(ref name) if name == "tags"), "{error}");
    for name in ["", "a=b", "a<<b", "a\nb"] {
        assert!(matches!(entry(name, "v", "D"), Err(GithubError::InvalidName(_))), "{name:?}");
    }
}

#[test]
fn delimiters_are_random_uuids() {
    let (first, second) = (new_delimiter(), new_delimiter());
    assert_ne!(first, second);
    let uuid = first.strip_prefix("ghadelimiter_").unwrap();
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert_eq!(&uuid[14..15], "4");
    assert!("89ab".contains(&uuid[19..20]), "{uuid}");
}

#[test]
fn entries_round_trip_through_the_runner_parser() {
    let values = [
        ("digest", "sha256:0123"),
        ("empty", ""),
        ("tags", "1.2.3\n1.2\nlatest"),
        ("trailing", "line\n"),
        ("only-newline", "\n"),
        ("carriage", "a\r\nb"),
        ("json", r#"{"a":"b=c<<d"}"#),
    ];
    let delimiter = new_delimiter();
    let text: String = values.iter().map(|(name, value)| entry(name, value, &delimiter).unwrap()).collect();
    let parsed = parse(&text).unwrap();
    let expected: Vec<(String, String)> = values.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    assert_eq!(parsed, expected);
}

#[test]
fn the_parser_reads_what_other_writers_write_and_refuses_broken_files() {
    let parsed = parse("a=1\n\nb<<EOF\nx\n\nEOF\nc=two=2").unwrap();
    assert_eq!(parsed, [("a".into(), "1".into()), ("b".into(), "x\n".into()), ("c".into(), "two=2".into())]);
    assert!(matches!(parse("=x"), Err(GithubError::Malformed { line: 1, .. })));
    assert!(matches!(parse("a=1\nb<<EOF\nx"), Err(GithubError::Malformed { line: 2, .. })));
    assert!(matches!(parse("a<<"), Err(GithubError::Malformed { .. })));
    assert!(matches!(parse("novalue"), Err(GithubError::Malformed { .. })));
}

#[test]
fn file_commands_append_to_the_named_files() {
    let directory = tempfile::tempdir().unwrap();
    let output = directory.path().join("output");
    std::fs::write(&output, "earlier=1\n").unwrap();
    let commands = FileCommands {
        output: Some(output.clone()),
        env: Some(directory.path().join("env")),
        summary: Some(directory.path().join("summary")),
    };
    let outputs = [("digest".to_owned(), "sha256:1".to_owned()), ("tags".to_owned(), "a\nb".to_owned())];
    assert!(commands.set_outputs(&outputs).unwrap());
    let parsed = parse(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(parsed[0], ("earlier".to_owned(), "1".to_owned()));
    assert_eq!(&parsed[1..], outputs);

    assert!(commands.export_variable("KO_DOCKER_REPO", "ghcr.io/acme").unwrap());
    assert!(matches!(commands.export_variable("NODE_OPTIONS", "--x"), Err(GithubError::ProtectedVariable(_))));
    let env = parse(&std::fs::read_to_string(directory.path().join("env")).unwrap()).unwrap();
    assert_eq!(env, [("KO_DOCKER_REPO".to_owned(), "ghcr.io/acme".to_owned())]);

    let fitted = commands.append_summary("## rko\n").unwrap().unwrap();
    assert!(!fitted.truncated);
    assert_eq!(std::fs::read_to_string(directory.path().join("summary")).unwrap(), "## rko\n");

    let none = FileCommands::default();
    assert!(!none.set_outputs(&outputs).unwrap());
    assert_eq!(none.append_summary("x").unwrap(), None);
}

#[test]
fn file_commands_come_from_the_runner_variables() {
    let map = crate::ci::variables(&[("GITHUB_OUTPUT", "/tmp/o"), ("GITHUB_STEP_SUMMARY", "")]);
    let commands = FileCommands::from_variables(&map);
    assert_eq!(commands.output.as_deref(), Some(Path::new("/tmp/o")));
    assert_eq!((commands.env, commands.summary), (None, None));
}

#[test]
fn unwritable_files_name_the_variable_and_path() {
    let commands = FileCommands { output: Some(PathBuf::from("/nonexistent/dir/output")), ..FileCommands::default() };
    let error = commands.set_outputs(&[("a".to_owned(), "b".to_owned())]).unwrap_err();
    assert!(error.to_string().starts_with("cannot append to `GITHUB_OUTPUT` (`/nonexistent/dir/output`)"), "{error}");
}

#[test]
fn summaries_are_cut_at_a_line_well_before_the_limit() {
    let line = "| row | `sha256:0123456789abcdef` |\n";
    let big = line.repeat((STEP_SUMMARY_LIMIT as usize) / line.len() + 10);
    let fitted = fit_summary(0, &big);
    assert!(fitted.truncated);
    assert!(fitted.text.len() as u64 <= STEP_SUMMARY_BUDGET, "{}", fitted.text.len());
    assert!(fitted.text.ends_with(TRUNCATION_NOTE));
    assert!(fitted.text.strip_suffix(TRUNCATION_NOTE).unwrap().ends_with(line));

    assert_eq!(fit_summary(STEP_SUMMARY_BUDGET - 3, "abc"), FittedSummary { text: "abc".into(), truncated: false });
    let full = fit_summary(STEP_SUMMARY_BUDGET, "abc");
    assert_eq!(full, FittedSummary { text: String::new(), truncated: true });

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("summary");
    let commands = FileCommands { summary: Some(path.clone()), ..FileCommands::default() };
    commands.append_summary(&big).unwrap();
    commands.append_summary(&big).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() <= STEP_SUMMARY_BUDGET);
}

#[test]
fn workflow_commands_escape_like_the_toolkit() {
    assert_eq!(add_mask("p%s\r\nw").as_deref(), Some("::add-mask::p%25s%0D%0Aw"));
    assert_eq!(add_mask(""), None);
    assert_eq!(group("Building example.com/app"), "::group::Building example.com/app");
    assert_eq!(end_group(), "::endgroup::");
    let token = new_stop_token();
    assert_eq!(stop_commands(&token), format!("::stop-commands::{token}"));
    assert_eq!(resume_commands(&token), format!("::{token}::"));
    assert_ne!(token, new_stop_token());
}

#[test]
fn annotations_escape_properties_and_messages() {
    let mut annotation = Annotation::new(AnnotationLevel::Error, "undefined: x\n50% done");
    assert_eq!(annotation.command(), "::error::undefined: x%0A50%25 done");
    annotation.title = Some("go build: example.com/app".to_owned());
    annotation.file = Some("cmd/a,b.go".to_owned());
    annotation.line = Some(12);
    annotation.column = Some(5);
    assert_eq!(
        annotation.command(),
        "::error title=go build%3A example.com/app,file=cmd/a%2Cb.go,line=12,col=5::undefined: x%0A50%25 done"
    );
    let mut warning = Annotation::new(AnnotationLevel::Warning, "w");
    warning.end_line = Some(3);
    warning.end_column = Some(4);
    assert_eq!(warning.command(), "::warning endLine=3,endColumn=4::w");
    assert_eq!(Annotation::new(AnnotationLevel::Notice, "n").command(), "::notice::n");
}
