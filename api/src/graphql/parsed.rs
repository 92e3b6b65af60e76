//! Parsing each GraphQL document once. A request's document is needed three times: to tell a
//! mutation from a query before it runs, to run it, and to put the answer's keys in the order it
//! asked for. It is parsed once per request here, and front-ends send the same few documents
//! over and over, so the documents parsed lately are kept by their text and not parsed again.
//!
//! Only what parsed is kept, only short texts, and no more text in all than [`KEPT_BYTES`] (a
//! parsed document takes some tens of times its text): a hostile client sending ever new
//! documents at most empties the cache, and costs the parse it would have cost anyway. Depth and
//! directive limits and validation still run on every request, on the cached document as on a
//! new one.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// How many documents are kept before the cache starts again.
const KEPT: usize = 512;
/// How much text the kept documents may have in all before the cache starts again.
const KEPT_BYTES: usize = 256 * 1024;
/// Longer texts are parsed every time: a front-end's documents are far shorter.
const LONGEST_KEPT: usize = 8 * 1024;

/// The documents parsed lately, by their text.
#[derive(Clone, Default)]
pub struct ParsedDocuments(Arc<RwLock<Kept>>);

#[derive(Default)]
struct Kept {
    documents: HashMap<String, Arc<ExecutableDocument>>,
    /// The length of their texts, together.
    bytes: usize,
}

impl ParsedDocuments {
    /// `query` parsed, from the cache or now; `None` if it does not parse (running the request
    /// then reports why).
    pub fn parse(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if let Some(document) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .documents
            .get(query)
        {
            return Some(Arc::clone(document));
        }
        let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        if query.len() <= LONGEST_KEPT {
            let mut kept = self.0.write().unwrap_or_else(PoisonError::into_inner);
            if kept.documents.len() >= KEPT || kept.bytes + query.len() > KEPT_BYTES {
                kept.documents.clear();
                kept.bytes = 0;
            }
            if kept
                .documents
                .insert(query.to_owned(), Arc::clone(&document))
                .is_none()
            {
                kept.bytes += query.len();
            }
        }
        Some(document)
    }
}

/// Whether the operation `operation_name` picks out of `document` is a mutation.
pub fn is_mutation(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) => operations.values().next(),
    };
    operation.is_some_and(|operation| operation.node.ty == OperationType::Mutation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_kept_by_its_text() {
        let documents = ParsedDocuments::default();
        let first = documents.parse("mutation { x }").unwrap();
        let again = documents.parse("mutation { x }").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(is_mutation(&first, None));
        assert!(!is_mutation(
            &documents.parse("{ me { id } }").unwrap(),
            None
        ));
        assert!(documents.parse("{ unclosed").is_none());
    }

    #[test]
    fn the_operation_named_decides_between_several() {
        let documents = ParsedDocuments::default();
        let document = documents
            .parse("query Q { me { id } } mutation M { x }")
            .unwrap();
        assert!(is_mutation(&document, Some("M")));
        assert!(!is_mutation(&document, Some("Q")));
        assert!(!is_mutation(&document, Some("missing")));
    }

    #[test]
    fn a_full_cache_starts_again_and_long_texts_are_not_kept() {
        let documents = ParsedDocuments::default();
        for n in 0..KEPT + 1 {
            documents.parse(&format!("{{ me {{ id }} a{n}: me {{ id }} }}"));
        }
        assert!(documents.0.read().unwrap().documents.len() <= KEPT);
        let text = format!("{{ me {{ id }} }} # {}", "x".repeat(LONGEST_KEPT - 20));
        for n in 0..KEPT_BYTES / LONGEST_KEPT + 2 {
            documents.parse(&format!("{text}{n}"));
        }
        assert!(documents.0.read().unwrap().bytes <= KEPT_BYTES);
        let long = format!("{{ me {{ id }} }} # {}", "x".repeat(LONGEST_KEPT));
        let once = documents.parse(&long).unwrap();
        let twice = documents.parse(&long).unwrap();
        assert!(!Arc::ptr_eq(&once, &twice));
    }
}
