//! Applies a label selector to parsed YAML documents the way `ko resolve --selector` does:
//! reads `metadata.labels`, drops documents that do not match, filters the `items` of list
//! documents, and turns each decision into byte ranges to remove so that everything kept stays
//! byte-identical. It depends on nothing else in rko.

use std::collections::BTreeMap;
use std::ops::Range;

use super::selector::Selector;
use super::text;
use super::yaml::{NodeKind, ScalarClass, Stream};
use super::{YamlError, YamlErrorKind};

/// Returns the byte ranges of `text` to remove so that only what `selector` selects remains.
pub(crate) fn filter(text: &str, stream: &Stream, selector: &Selector) -> Result<Vec<Range<usize>>, YamlError> {
    let regions = document_regions(text, stream);
    let mut removals = Vec::new();
    for (index, document) in stream.documents.iter().enumerate() {
        let Some(root) = document.root else {
            continue;
        };
        let remove_document = match decide(stream, root, selector) {
            Decision::Keep => false,
            Decision::Drop => true,
            Decision::KeepItems { items, floor, keep } => {
                if keep.iter().any(|kept| *kept) {
                    removals.extend(item_removals(text, stream, items, floor, &keep)?);
                    false
                } else {
                    true
                }
            }
            Decision::NotObject(reason) => {
                let position = stream.nodes.get(root).map_or(document.start, |node| node.start);
                let (line, column) = stream.lines.locate(text, position);
                return Err(YamlError {
                    line,
                    column,
                    message: format!("document `{index}` {reason}, so the selector cannot apply"),
                    kind: YamlErrorKind::NotKubernetesObject,
                });
            }
        };
        if remove_document {
            let Some(region) = regions.get(index) else {
                continue;
            };
            let mut region = region.clone();
            let next_is_implicit = stream.documents.get(index + 1).is_some_and(|next| !next.explicit_start);
            if let (Some(marker), true) = (document.end_marker, next_is_implicit) {
                // Keep this document's `...` so the next document does not run into the
                // previous one.
                region.end = text::line_start(text, marker).max(region.start);
            }
            removals.push(region);
        }
    }
    removals.sort_by_key(|range| range.start);
    Ok(removals)
}

enum Decision {
    Keep,
    Drop,
    KeepItems { items: usize, floor: usize, keep: Vec<bool> },
    NotObject(String),
}

fn decide(stream: &Stream, root: usize, selector: &Selector) -> Decision {
    if is_null(stream, root) {
        return Decision::Drop;
    }
    let kind = match object_kind(stream, root) {
        Ok(kind) => kind,
        Err(reason) => return Decision::NotObject(reason),
    };
    let items = mapping_entries(stream, root, "items")
        .find(|(_, items)| matches!(stream.kind(*items), Some(NodeKind::Sequence { .. })));
    let is_list = kind == "List" || (kind.ends_with("List") && items.is_some());
    if !is_list {
        return if selector.matches(&labels(stream, root)) { Decision::Keep } else { Decision::Drop };
    }
    let Some((key, items)) = items else {
        return Decision::NotObject("has `kind: List` but no `items` sequence".to_string());
    };
    let floor = stream.nodes.get(key).map_or(0, |key| key.end.unwrap_or(key.start));
    let Some(NodeKind::Sequence { children, .. }) = stream.kind(items) else {
        return Decision::NotObject("has no `items` sequence".to_string());
    };
    let mut keep = Vec::with_capacity(children.len());
    for (position, item) in children.iter().enumerate() {
        if is_null(stream, *item) {
            keep.push(selector.matches(&BTreeMap::new()));
            continue;
        }
        if let Err(reason) = object_kind(stream, *item) {
            return Decision::NotObject(format!("has item `{position}` in `items` that {reason}"));
        }
        keep.push(selector.matches(&labels(stream, *item)));
    }
    Decision::KeepItems { items, floor, keep }
}

fn is_null(stream: &Stream, node: usize) -> bool {
    matches!(stream.kind(node), Some(NodeKind::Scalar { class: ScalarClass::Null, .. }))
}

/// The string scalar at `node`, if it is one.
fn string_value(stream: &Stream, node: usize) -> Option<&str> {
    match stream.kind(node) {
        Some(NodeKind::Scalar { value, class: ScalarClass::String }) => Some(value),
        _ => None,
    }
}

/// The values of the entries of mapping `node` whose key is the string `key`.
fn mapping_values<'stream>(
    stream: &'stream Stream,
    node: usize,
    key: &'stream str,
) -> impl Iterator<Item = usize> + 'stream {
    mapping_entries(stream, node, key).map(|(_, value)| value)
}

/// The (key, value) entries of mapping `node` whose key is the string `key`.
fn mapping_entries<'stream>(
    stream: &'stream Stream,
    node: usize,
    key: &'stream str,
) -> impl Iterator<Item = (usize, usize)> + 'stream {
    let children: &[usize] = match stream.kind(node) {
        Some(NodeKind::Mapping { children }) => children,
        _ => &[],
    };
    children
        .chunks_exact(2)
        .filter(move |pair| string_value(stream, pair[0]) == Some(key))
        .map(|pair| (pair[0], pair[1]))
}

/// The `kind` of a Kubernetes object: a mapping with string `apiVersion` and `kind`.
fn object_kind(stream: &Stream, node: usize) -> Result<String, String> {
    if !matches!(stream.kind(node), Some(NodeKind::Mapping { .. })) {
        return Err("is not a Kubernetes object (not a mapping)".to_string());
    }
    if !mapping_values(stream, node, "apiVersion").any(|value| string_value(stream, value).is_some()) {
        return Err("is not a Kubernetes object (no string `apiVersion`)".to_string());
    }
    mapping_values(stream, node, "kind")
        .find_map(|value| string_value(stream, value))
        .map(str::to_string)
        .ok_or_else(|| "is not a Kubernetes object (no string `kind`)".to_string())
}

/// The text of a label value: a scalar's text, an alias's anchored scalar, else empty.
fn label_text(stream: &Stream, node: usize) -> Option<String> {
    match stream.kind(node) {
        Some(NodeKind::Scalar { value, .. }) => Some(value.clone()),
        Some(NodeKind::Alias { anchor }) => {
            let target = stream.anchors.get(*anchor).copied().flatten()?;
            match stream.kind(target) {
                Some(NodeKind::Scalar { value, .. }) => Some(value.clone()),
                _ => Some(String::new()),
            }
        }
        _ => None,
    }
}

/// The object's `metadata.labels`, values as their text; the first of duplicate keys wins.
pub(crate) fn labels(stream: &Stream, object: usize) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let map = mapping_values(stream, object, "metadata")
        .find(|metadata| matches!(stream.kind(*metadata), Some(NodeKind::Mapping { .. })))
        .and_then(|metadata| {
            mapping_values(stream, metadata, "labels")
                .find(|labels| matches!(stream.kind(*labels), Some(NodeKind::Mapping { .. })))
        });
    let Some(Some(NodeKind::Mapping { children })) = map.map(|map| stream.kind(map)) else {
        return labels;
    };
    for pair in children.chunks_exact(2) {
        if let Some(NodeKind::Scalar { value: key, .. }) = stream.kind(pair[0]) {
            let value = label_text(stream, pair[1]).unwrap_or_default();
            labels.entry(key.clone()).or_insert(value);
        }
    }
    labels
}

/// Splits the text into one region per document; removing a region removes the document
/// with its `---` line (and its `...` line), keeping a leading byte order mark.
fn document_regions(text: &str, stream: &Stream) -> Vec<Range<usize>> {
    let documents = &stream.documents;
    let mut starts = Vec::with_capacity(documents.len());
    for (index, document) in documents.iter().enumerate() {
        let start = match index.checked_sub(1).and_then(|previous| documents.get(previous)) {
            None => text.strip_prefix('\u{feff}').map_or(0, |_| '\u{feff}'.len_utf8()),
            Some(previous) => match previous.end_marker {
                Some(marker) => text::next_line_start(text, marker),
                None => text::line_start(text, document.start),
            },
        };
        let floor = starts.last().copied().unwrap_or(0);
        starts.push(start.max(floor));
    }
    let mut regions = Vec::with_capacity(starts.len());
    for (index, start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(text.len());
        regions.push(*start..end.max(*start));
    }
    regions
}

/// Byte ranges that remove the items of sequence `items` whose `keep` flag is false.
fn item_removals(
    text: &str,
    stream: &Stream,
    items: usize,
    floor: usize,
    keep: &[bool],
) -> Result<Vec<Range<usize>>, YamlError> {
    let Some(sequence) = stream.nodes.get(items) else {
        return Ok(Vec::new());
    };
    let NodeKind::Sequence { flow, children } = &sequence.kind else {
        return Ok(Vec::new());
    };
    let starts: Vec<usize> =
        children.iter().map(|child| stream.nodes.get(*child).map_or(sequence.start, |node| node.start)).collect();
    let ends: Vec<usize> = children
        .iter()
        .zip(&starts)
        .map(|(child, start)| stream.nodes.get(*child).and_then(|node| node.end).unwrap_or(*start))
        .collect();
    if *flow {
        return Ok(flow_item_removals(&starts, &ends, keep));
    }
    let mut indicators = Vec::with_capacity(starts.len());
    for start in &starts {
        let Some(indicator) = text::find_entry_indicator(text, *start) else {
            let (line, column) = stream.lines.locate(text, *start);
            return Err(YamlError {
                line,
                column,
                message: "cannot find the `-` of this `items` entry to remove it".to_string(),
                kind: YamlErrorKind::Unsupported,
            });
        };
        indicators.push(indicator);
    }
    // Region of item i: from the comment lines directly above its `-` through the line
    // before the region of item i+1 (the last item: through the end of its last line).
    let mut bounds = Vec::with_capacity(indicators.len() + 1);
    for (index, indicator) in indicators.iter().enumerate() {
        let bound = if text::starts_line(text, *indicator) {
            let floor = match index.checked_sub(1) {
                None => floor,
                Some(previous) => text::next_line_start(text, ends[previous].max(indicators[previous])),
            };
            let line = text::line_start(text, *indicator);
            if floor <= line { text::comment_lines_above(text, line, floor) } else { *indicator }
        } else {
            *indicator
        };
        bounds.push(bound);
    }
    let last = indicators.len().saturating_sub(1);
    let last_end = ends.get(last).copied().unwrap_or(0).max(indicators.get(last).map_or(0, |indicator| indicator + 1));
    bounds.push(if indicators.last().is_some_and(|indicator| text::starts_line(text, *indicator)) {
        text::next_line_start(text, last_end)
    } else {
        last_end
    });
    let mut removals = Vec::new();
    for (index, kept) in keep.iter().enumerate() {
        if let (false, Some(start), Some(end)) = (*kept, bounds.get(index), bounds.get(index + 1))
            && start < end
        {
            removals.push(*start..*end);
        }
    }
    Ok(removals)
}

/// Removes runs of flow sequence items with their separating commas.
fn flow_item_removals(starts: &[usize], ends: &[usize], keep: &[bool]) -> Vec<Range<usize>> {
    let count = starts.len().min(ends.len()).min(keep.len());
    let mut removals = Vec::new();
    let mut index = 0;
    while index < count {
        if keep[index] {
            index += 1;
            continue;
        }
        let first = index;
        while index < count && !keep[index] {
            index += 1;
        }
        let last = index - 1;
        if index < count {
            removals.push(starts[first]..starts[index]);
        } else if first > 0 {
            removals.push(ends[first - 1]..ends[last]);
        } else {
            removals.push(starts[first]..ends[last]);
        }
    }
    removals
}
