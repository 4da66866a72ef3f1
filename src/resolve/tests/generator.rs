//! Random YAML streams for the property tests: nested block and flow collections, scalars in
//! every style with anchors, tags and comments, aliases, `---`/`...` markers, CRLF and a byte
//! order mark. Each stream renders twice: as input, and as the exact text expected after
//! every `ko://` reference is replaced, which is the oracle for byte fidelity. It depends on
//! nothing else in rko.

use proptest::prelude::*;

use super::reference_for;

#[derive(Debug, Clone)]
pub(super) enum Text {
    Reference(String),
    Word(String),
    /// `--flag=ko://…`: contains the scheme but is not a reference.
    Embedded(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal(&'static str),
    Folded(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TagKind {
    None,
    Str,
    NonSpecific,
    Custom,
}

#[derive(Debug, Clone)]
pub(super) struct Scalar {
    text: Text,
    style: Style,
    anchor: bool,
    tag: TagKind,
    comment: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Scalar(Scalar),
    Alias(usize),
    Map { entries: Vec<(Scalar, Node, Option<String>)>, flow: bool },
    Seq { items: Vec<(Node, Option<String>)>, flow: bool, indentless: bool },
}

#[derive(Debug, Clone)]
pub(super) struct Document {
    root: Option<Node>,
    explicit_start: bool,
    explicit_end: bool,
    leading_comment: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Stream {
    documents: Vec<Document>,
    crlf: bool,
    bom: bool,
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,5}"
}

fn import_path() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,5}(\\.[a-z]{2,3})?(/[a-z0-9_.-]{1,6}){0,3}"
}

fn comment() -> impl Strategy<Value = String> {
    "[ a-z0-9:#'\"/|>&*!-]{0,10}( ko://x)?"
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        4 => import_path().prop_map(Text::Reference),
        4 => word().prop_map(Text::Word),
        1 => import_path().prop_map(Text::Embedded),
    ]
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        4 => Just(Style::Plain),
        2 => Just(Style::Single),
        2 => Just(Style::Double),
        2 => prop_oneof![Just(""), Just("-"), Just("+")].prop_map(Style::Literal),
        1 => prop_oneof![Just(""), Just("-"), Just("+")].prop_map(Style::Folded),
    ]
}

fn tag() -> impl Strategy<Value = TagKind> {
    prop_oneof![
        8 => Just(TagKind::None),
        1 => Just(TagKind::Str),
        1 => Just(TagKind::NonSpecific),
        1 => Just(TagKind::Custom),
    ]
}

fn scalar() -> impl Strategy<Value = Scalar> {
    (text(), style(), proptest::bool::weighted(0.15), tag(), proptest::option::weighted(0.3, comment()))
        .prop_map(|(text, style, anchor, tag, comment)| Scalar { text, style, anchor, tag, comment })
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        8 => scalar().prop_map(Node::Scalar),
        1 => (0usize..4).prop_map(Node::Alias),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let line_comment = || proptest::option::weighted(0.25, comment());
        prop_oneof![
            (prop::collection::vec((scalar(), inner.clone(), line_comment()), 0..4), proptest::bool::weighted(0.3),)
                .prop_map(|(entries, flow)| Node::Map { entries, flow }),
            (prop::collection::vec((inner, line_comment()), 0..4), proptest::bool::weighted(0.3), any::<bool>(),)
                .prop_map(|(items, flow, indentless)| Node::Seq { items, flow, indentless }),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    (
        proptest::option::weighted(0.9, node()),
        any::<bool>(),
        proptest::bool::weighted(0.25),
        proptest::option::weighted(0.3, comment()),
    )
        .prop_map(|(root, explicit_start, explicit_end, leading_comment)| Document {
            root,
            explicit_start,
            explicit_end,
            leading_comment,
        })
}

pub(super) fn stream() -> impl Strategy<Value = Stream> {
    (prop::collection::vec(document(), 1..4), proptest::bool::weighted(0.2), proptest::bool::weighted(0.1))
        .prop_map(|(documents, crlf, bom)| Stream { documents, crlf, bom })
}

impl Stream {
    /// The stream as YAML; with `replaced`, every reference replaced by [`reference_for`].
    pub(super) fn render(&self, replaced: bool) -> String {
        let mut renderer = Renderer { replaced, anchors: 0, document_anchors: Vec::new() };
        let mut out = String::new();
        let mut previous_ended = true;
        for (index, document) in self.documents.iter().enumerate() {
            renderer.document_anchors.clear();
            if let Some(comment) = &document.leading_comment {
                out.push_str(&format!("#{comment}\n"));
            }
            let root_scalar = matches!(document.root, Some(Node::Scalar(_)) | None);
            let explicit = document.explicit_start || root_scalar || (index > 0 && !previous_ended);
            if explicit {
                out.push_str("---");
            }
            match &document.root {
                None => out.push('\n'),
                Some(Node::Scalar(scalar)) => out.push_str(&renderer.value(scalar, 0)),
                Some(node) => {
                    if explicit {
                        out.push('\n');
                    }
                    out.push_str(&renderer.block(node, 0));
                }
            }
            if document.explicit_end {
                out.push_str("...\n");
            }
            previous_ended = document.explicit_end;
        }
        if self.crlf {
            out = out.replace('\n', "\r\n");
        }
        if self.bom {
            out.insert(0, '\u{feff}');
        }
        out
    }

    /// How many references `ko` replaces in this stream.
    pub(super) fn reference_count(&self) -> usize {
        fn count_scalar(scalar: &Scalar) -> usize {
            usize::from(matches!(scalar.text, Text::Reference(_)) && scalar.tag != TagKind::Custom)
        }
        fn count(node: &Node) -> usize {
            match node {
                Node::Scalar(value) => count_scalar(value),
                Node::Alias(_) => 0,
                Node::Map { entries, .. } => {
                    entries.iter().map(|(key, value, _)| count_scalar(key) + count(value)).sum()
                }
                Node::Seq { items, .. } => items.iter().map(|(item, _)| count(item)).sum(),
            }
        }
        self.documents.iter().filter_map(|document| document.root.as_ref()).map(count).sum()
    }
}

struct Renderer {
    replaced: bool,
    anchors: usize,
    document_anchors: Vec<usize>,
}

impl Renderer {
    fn properties(&mut self, scalar: &Scalar) -> String {
        let mut properties = String::new();
        if scalar.anchor {
            self.anchors += 1;
            self.document_anchors.push(self.anchors);
            properties.push_str(&format!("&a{} ", self.anchors));
        }
        properties.push_str(match scalar.tag {
            TagKind::None => "",
            TagKind::Str => "!!str ",
            TagKind::NonSpecific => "! ",
            TagKind::Custom => "!custom ",
        });
        properties
    }

    /// The scalar's value text, replaced when it is a reference and `self.replaced`.
    fn content(&self, scalar: &Scalar) -> String {
        match &scalar.text {
            Text::Reference(path) if self.replaced && scalar.tag != TagKind::Custom => reference_for(path),
            Text::Reference(path) => format!("ko://{path}"),
            Text::Word(word) => word.clone(),
            Text::Embedded(path) => format!("--flag=ko://{path}"),
        }
    }

    /// A scalar on one line (block styles become double-quoted), properties included.
    fn inline(&mut self, scalar: &Scalar) -> String {
        let properties = self.properties(scalar);
        let content = self.content(scalar);
        let quoted = match scalar.style {
            Style::Plain => content,
            Style::Single => format!("'{content}'"),
            _ => format!("\"{content}\""),
        };
        format!("{properties}{quoted}")
    }

    fn alias(&self, choice: usize) -> String {
        match self.document_anchors.len() {
            0 => "noalias".to_string(),
            count => format!("*a{}", self.document_anchors[choice % count]),
        }
    }

    /// The text after a `key:`, `-` or `---` indicator, through the end of the value.
    fn value(&mut self, scalar: &Scalar, indent: usize) -> String {
        let comment = scalar.comment.as_ref().map(|comment| format!(" #{comment}")).unwrap_or_default();
        match scalar.style {
            Style::Literal(chomp) | Style::Folded(chomp) => {
                let header = if matches!(scalar.style, Style::Literal(_)) { '|' } else { '>' };
                let properties = self.properties(scalar);
                let content = self.content(scalar);
                let blank = if chomp == "+" { "\n" } else { "" };
                let pad = " ".repeat(indent + 2);
                format!(" {properties}{header}{chomp}{comment}\n{pad}{content}\n{blank}")
            }
            _ => format!(" {}{comment}\n", self.inline(scalar)),
        }
    }

    fn flow(&mut self, node: &Node) -> String {
        match node {
            Node::Scalar(scalar) => self.inline(scalar),
            Node::Alias(choice) => self.alias(*choice),
            Node::Map { entries, .. } => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(key, value, _)| format!("{}: {}", self.inline(key), self.flow(value)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Node::Seq { items, .. } => {
                let parts: Vec<String> = items.iter().map(|(item, _)| self.flow(item)).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    fn is_block_collection(node: &Node) -> bool {
        match node {
            Node::Map { entries, flow } => !flow && !entries.is_empty(),
            Node::Seq { items, flow, .. } => !flow && !items.is_empty(),
            _ => false,
        }
    }

    /// A node in block context at `indent`: lines, each ending with a line break.
    fn block(&mut self, node: &Node, indent: usize) -> String {
        if !Self::is_block_collection(node) {
            return format!("{}\n", self.flow(node));
        }
        let pad = " ".repeat(indent);
        let mut out = String::new();
        match node {
            Node::Map { entries, .. } => {
                for (key, value, comment) in entries {
                    if let Some(comment) = comment {
                        out.push_str(&format!("{pad}#{comment}\n"));
                    }
                    out.push_str(&format!("{pad}{}:", self.inline(key)));
                    out.push_str(&self.after_indicator(value, indent, true));
                }
            }
            Node::Seq { items, .. } => {
                for (item, comment) in items {
                    if let Some(comment) = comment {
                        out.push_str(&format!("{pad}#{comment}\n"));
                    }
                    out.push_str(&format!("{pad}-"));
                    out.push_str(&self.after_indicator(item, indent, false));
                }
            }
            _ => {}
        }
        out
    }

    /// What follows a `key:` (`in_mapping`) or `-` at `indent`.
    fn after_indicator(&mut self, node: &Node, indent: usize, in_mapping: bool) -> String {
        match node {
            Node::Scalar(scalar) => self.value(scalar, indent),
            Node::Alias(choice) => format!(" {}\n", self.alias(*choice)),
            Node::Seq { indentless, .. } if in_mapping && Self::is_block_collection(node) => {
                let child = if *indentless { indent } else { indent + 2 };
                format!("\n{}", self.block(node, child))
            }
            _ if in_mapping && Self::is_block_collection(node) => {
                format!("\n{}", self.block(node, indent + 2))
            }
            _ if Self::is_block_collection(node) => {
                let nested = self.block(node, indent + 2);
                format!(" {}", &nested[indent + 2..])
            }
            _ => format!(" {}\n", self.flow(node)),
        }
    }
}
