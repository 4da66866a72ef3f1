//! Finds which top-level keys of the data a template can reach, so that
//! costly data is only computed when a template needs it.
//!
//! The data can only be reached through `$`, or through the dot while the
//! dot is still the data (outside the body of a `with` or `range`, which
//! rebind it to a value already accounted for). A field chain on either
//! names its root; a bare `$` or `.` there may reach everything.

use std::collections::BTreeSet;

use super::parser::{Chain, Expression, Node, Pipeline, Receiver};

#[derive(Debug, Default)]
pub(crate) struct References {
    pub roots: BTreeSet<String>,
    pub whole_data: bool,
}

pub(crate) fn collect(nodes: &[Node]) -> References {
    let mut references = References::default();
    references.visit_nodes(nodes, true);
    references
}

impl References {
    fn visit_nodes(&mut self, nodes: &[Node], dot_is_data: bool) {
        for node in nodes {
            match node {
                Node::Text(_) => {}
                Node::Action(pipeline) => self.visit_pipeline(pipeline, dot_is_data),
                Node::Control(control) => {
                    self.visit_pipeline(&control.pipeline, dot_is_data);
                    let body_dot_is_data = dot_is_data && control.kind == super::parser::ControlKind::If;
                    self.visit_nodes(&control.body, body_dot_is_data);
                    if let Some(else_body) = &control.else_body {
                        self.visit_nodes(else_body, dot_is_data);
                    }
                }
            }
        }
    }

    fn visit_pipeline(&mut self, pipeline: &Pipeline, dot_is_data: bool) {
        for command in &pipeline.commands {
            for argument in &command.arguments {
                self.visit_expression(argument, dot_is_data);
            }
        }
    }

    fn visit_expression(&mut self, expression: &Expression, dot_is_data: bool) {
        match expression {
            Expression::Dot if dot_is_data => self.whole_data = true,
            Expression::Variable(name) if name == "$" => self.whole_data = true,
            Expression::Pipeline(pipeline) => self.visit_pipeline(pipeline, dot_is_data),
            Expression::Chain(chain) => self.visit_chain(chain, dot_is_data),
            _ => {}
        }
    }

    fn visit_chain(&mut self, chain: &Chain, dot_is_data: bool) {
        let names_root = match &chain.receiver {
            Receiver::Dot => dot_is_data,
            Receiver::Variable(name) => name == "$",
            Receiver::Pipeline(pipeline) => {
                self.visit_pipeline(pipeline, dot_is_data);
                false
            }
        };
        if names_root && let Some(root) = chain.fields.first() {
            self.roots.insert(root.clone());
        }
    }
}
