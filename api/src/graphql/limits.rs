//! Limits on a query's shape, checked before anything else looks at it. async-graphql limits depth
//! and complexity, but has no alias limit, and both its recursion-depth check and its validation
//! walk a fragment again at every place it is spread: fragments that spread each other twice over,
//! twenty-five deep, make a 1 KiB query that keeps a worker busy for seconds. So this extension
//! parses the query first and counts, with each fragment counted once and reused, the fields and
//! aliases the query would have once every spread is expanded; a query over either limit is
//! refused with QUERY_TOO_COMPLEX before async-graphql walks it. The document comes from the
//! server's [`ParsedDocuments`], which has it already when the request was parsed before it ran.

use crate::graphql::parsed::ParsedDocuments;
use async_graphql::Name;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ServerError, ServerResult, Variables};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub struct ShapeLimit {
    /// Where documents are parsed, each once.
    pub documents: ParsedDocuments,
    /// Aliased fields, after fragments are expanded.
    pub max_aliases: usize,
    /// Fields, after fragments are expanded: no query within the complexity limit has more.
    pub max_fields: usize,
}

impl ExtensionFactory for ShapeLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ShapeLimitExtension {
            documents: self.documents.clone(),
            max_aliases: self.max_aliases,
            max_fields: self.max_fields,
        })
    }
}

struct ShapeLimitExtension {
    documents: ParsedDocuments,
    max_aliases: usize,
    max_fields: usize,
}

/// Fields and aliases of a selection set once its spreads are expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    fields: usize,
    aliases: usize,
}

impl Shape {
    fn plus(self, other: Shape) -> Shape {
        Shape {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

/// Counts a fragment once and reuses the count at every spread; a fragment that spreads itself
/// counts nothing here (validation refuses it), and counts saturate.
struct ShapeCounter<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    counted: HashMap<&'a str, Shape>,
    in_progress: HashSet<&'a str>,
}

impl<'a> ShapeCounter<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Shape {
        set.items.iter().fold(Shape::default(), |total, selection| {
            let here = match &selection.node {
                Selection::Field(field) => Shape {
                    fields: 1,
                    aliases: usize::from(field.node.alias.is_some()),
                }
                .plus(self.set(&field.node.selection_set.node)),
                Selection::InlineFragment(fragment) => self.set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
            };
            total.plus(here)
        })
    }

    fn fragment(&mut self, name: &'a str) -> Shape {
        if let Some(shape) = self.counted.get(name) {
            return *shape;
        }
        let fragments = self.fragments;
        let Some(definition) = fragments.get(name) else {
            return Shape::default();
        };
        if !self.in_progress.insert(name) {
            return Shape::default();
        }
        let shape = self.set(&definition.node.selection_set.node);
        self.in_progress.remove(name);
        self.counted.insert(name, shape);
        shape
    }
}

fn expanded_shape(document: &ExecutableDocument) -> Shape {
    let mut counter = ShapeCounter {
        fragments: &document.fragments,
        counted: HashMap::new(),
        in_progress: HashSet::new(),
    };
    document
        .operations
        .iter()
        .fold(Shape::default(), |total, (_, operation)| {
            total.plus(counter.set(&operation.node.selection_set.node))
        })
}

fn too_complex(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "QUERY_TOO_COMPLEX");
    error.extensions = Some(extensions);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for ShapeLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // A query that does not parse is left to async-graphql, which reports where.
        if let Some(document) = self.documents.parse(query) {
            let shape = expanded_shape(&document);
            if shape.fields > self.max_fields {
                return Err(too_complex(format!(
                    "the query expands to {} fields through its fragments; at most {} are allowed",
                    shape.fields, self.max_fields
                )));
            }
            if shape.aliases > self.max_aliases {
                return Err(too_complex(format!(
                    "the query uses {} aliases; at most {} are allowed",
                    shape.aliases, self.max_aliases
                )));
            }
        }
        next.run(ctx, query, variables).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(query: &str) -> Shape {
        expanded_shape(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn fragments_count_once_per_spread() {
        let shape = shape_of(
            "query { ...F ...F a: me { id } } fragment F on Query { x: me { id name } y: me { id } }",
        );
        assert_eq!(
            shape,
            Shape {
                fields: 2 * 5 + 2,
                aliases: 2 * 2 + 1
            }
        );
    }

    #[test]
    fn fragment_chains_are_counted_in_linear_time() {
        let mut query = String::from("query { ...F0 } ");
        for level in 0..60 {
            query.push_str(&format!(
                "fragment F{level} on Query {{ ...F{next} ...F{next} }} ",
                next = level + 1
            ));
        }
        query.push_str("fragment F60 on Query { x: me { id } }");
        let started = std::time::Instant::now();
        let shape = shape_of(&query);
        assert_eq!(shape.aliases, 1 << 60);
        assert!(
            started.elapsed().as_millis() < 500,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_fragment_that_spreads_itself_counts_nothing_more() {
        let shape = shape_of("query { ...F } fragment F on Query { a: me { id } ...F }");
        assert_eq!(shape.aliases, 1);
    }
}
