//! `cargo fuzz` target for rko's `resolve` module: any text must scan without panicking, and
//! whatever scans must rewrite to text that parses to the same events apart from the
//! replaced values. It depends on nothing else in rko.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rko::resolve::{Selector, scan};
use saphyr_parser::{Event, Parser};

/// The events of `text` without spans, or `None` when it does not parse.
fn events(text: &str) -> Option<Vec<String>> {
    let mut parser = Parser::new_from_str(text);
    let mut events = Vec::new();
    while let Some(result) = parser.next_event() {
        let (event, _) = result.ok()?;
        if !matches!(event, Event::StreamStart | Event::StreamEnd | Event::Nothing) {
            events.push(format!("{event:?}"));
        }
    }
    Some(events)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = Selector::parse("app=web,tier notin (a,b)") {
        if let Ok(scanned) = scan(text, Some(&selector)) {
            let _ = scanned.render(&|path| Some(format!("{path} #\n'\"x")));
        }
    }
    let Ok(scanned) = scan(text, None) else {
        return;
    };
    // Keep every scalar's style so that the layout, not quoting, is what is checked.
    let replacement = "r.example/x@sha256:0";
    let output = scanned.render(&|_| Some(replacement.to_string()));
    let (Some(before), Some(after)) = (events(text), events(&output)) else {
        panic!("rewritten text does not parse:\n{text:?}\n{output:?}");
    };
    assert_eq!(before.len(), after.len(), "{text:?}\n{output:?}");
    let references = scanned.references().len();
    let changed = before.iter().zip(&after).filter(|(old, new)| old != new).count();
    assert!(changed <= references, "{text:?}\n{output:?}");
    for (old, new) in before.iter().zip(&after) {
        if old != new {
            assert!(old.contains("\"ko://") && new.contains(replacement), "{old} became {new}");
        }
    }
});
