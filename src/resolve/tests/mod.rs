//! Tests of the `resolve` module: golden rewrites, selectors, and property tests with a random
//! YAML generator. Shared helpers live here. They depend on nothing else in rko.

mod generator;
mod golden;
mod property;
mod selectors;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

use super::yaml::{ScalarClass, classify};

/// An event without its span, comparable across texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shape {
    DocumentStart,
    DocumentEnd,
    Alias(usize),
    Scalar { value: String, style: ScalarStyle, anchor: usize, tag: Option<Tag> },
    SequenceStart(usize, Option<Tag>),
    SequenceEnd,
    MappingStart(usize, Option<Tag>),
    MappingEnd,
}

impl Shape {
    /// True for a scalar that `ko` would replace.
    pub(super) fn is_reference(&self) -> bool {
        matches!(self, Shape::Scalar { value, .. } if value.starts_with("ko://")) && self.is_string()
    }

    fn is_string(&self) -> bool {
        let Shape::Scalar { value, style, tag, .. } = self else {
            return false;
        };
        classify(value, *style, tag.as_ref()) == ScalarClass::String
    }
}

/// Parses `text` into shapes, or returns the parser's error message.
pub(super) fn shapes(text: &str) -> Result<Vec<Shape>, String> {
    let mut parser = Parser::new_from_str(text);
    let mut shapes = Vec::new();
    while let Some(result) = parser.next_event() {
        let (event, _) = result.map_err(|error| error.to_string())?;
        let tag_text = |tag: &Option<std::borrow::Cow<'_, Tag>>| tag.as_deref().cloned();
        shapes.push(match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => continue,
            Event::DocumentStart(_) => Shape::DocumentStart,
            Event::DocumentEnd => Shape::DocumentEnd,
            Event::Alias(anchor) => Shape::Alias(anchor),
            Event::Scalar(value, style, anchor, tag) => {
                Shape::Scalar { value: value.into_owned(), style, anchor, tag: tag_text(&tag) }
            }
            Event::SequenceStart(anchor, tag) => Shape::SequenceStart(anchor, tag_text(&tag)),
            Event::SequenceEnd => Shape::SequenceEnd,
            Event::MappingStart(anchor, tag) => Shape::MappingStart(anchor, tag_text(&tag)),
            Event::MappingEnd => Shape::MappingEnd,
        });
    }
    Ok(shapes)
}

/// The reference `ko` might publish for `import_path`: a registry address with a digest.
pub(super) fn reference_for(import_path: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in import_path.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let name = import_path.rsplit('/').next().unwrap_or("");
    format!("127.0.0.1:5000/{name}-{:08x}@sha256:{hash:016x}{hash:016x}{hash:016x}{hash:016x}", hash as u32)
}

/// Replacement callback that gives every import path its [`reference_for`].
pub(super) fn publish(import_path: &str) -> Option<String> {
    Some(reference_for(import_path))
}

/// The value a reference scalar must have after being replaced by `replacement`.
pub(super) fn expected_value(original: &str, style: ScalarStyle, new_style: ScalarStyle, replacement: &str) -> String {
    let block = |style| matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
    if block(style) && block(new_style) {
        let core = original.trim_end_matches([' ', '\t', '\n']);
        format!("{replacement}{}", &original[core.len()..])
    } else {
        replacement.to_string()
    }
}

/// Checks that `output` parses to the events of `input` except that each reference scalar
/// got the value `replacement(import_path)` (in its own style or, where allowed, quoted).
pub(super) fn assert_same_structure(input: &str, output: &str, replacement: &dyn Fn(&str) -> Option<String>) {
    let before = shapes(input).unwrap_or_else(|error| panic!("input does not parse: {error}\n{input}"));
    let after = shapes(output)
        .unwrap_or_else(|error| panic!("output does not parse: {error}\ninput: {input:?}\noutput: {output:?}"));
    assert_eq!(before.len(), after.len(), "event count differs\ninput:\n{input}\noutput:\n{output}");
    for (old, new) in before.iter().zip(&after) {
        let replaced = old.is_reference().then(|| {
            let Shape::Scalar { value, .. } = old else { unreachable!() };
            replacement(value.trim_end()["ko://".len()..].as_ref())
        });
        match (old, new, replaced.flatten()) {
            (
                Shape::Scalar { value, style, anchor, tag },
                Shape::Scalar { value: new_value, style: new_style, anchor: new_anchor, tag: new_tag },
                Some(replacement),
            ) => {
                let allowed_style = new_style == style || *new_style == ScalarStyle::DoubleQuoted;
                assert!(allowed_style, "style {style:?} became {new_style:?}\n{output}");
                assert_eq!(
                    new_value,
                    &expected_value(value, *style, *new_style, &replacement),
                    "replaced value of `{value}`\ninput:\n{input}\noutput:\n{output}"
                );
                assert_eq!((anchor, tag), (new_anchor, new_tag), "properties of `{value}` changed");
            }
            _ => assert_eq!(old, new, "event changed\ninput:\n{input}\noutput:\n{output}"),
        }
    }
}
