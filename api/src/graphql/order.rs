//! Puts a response's fields in the order of the query, as the GraphQL specification asks
//! (section 7.2: "fields … in the same order in which they were requested").
//!
//! async-graphql 7 resolves an object's fields concurrently and keeps them in the order they
//! finish, so two fields that each wait for the database come back in either order. This walks
//! the response once, beside the operation's selection sets (fragments expanded, fields of the same
//! response key merged), and rebuilds each object in the requested order. Its cost is linear in the
//! size of the response.

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Value};
use std::collections::HashMap;

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Reorders `data` to follow the operation `operation_name` (or the only one) of `document`.
pub fn in_query_order(
    data: &mut Value,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) {
    let Some(set) = operation_set(document, operation_name) else {
        return;
    };
    order_value(data, &[set], &document.fragments);
}

fn operation_set<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a SelectionSet> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) => operations.values().next(),
    };
    operation.map(|operation| &operation.node.selection_set.node)
}

/// The response keys the sets ask for, in order, each with the sub-selections asked under it.
fn keys_of<'a>(
    sets: &[&'a SelectionSet],
    fragments: &'a Fragments,
) -> Vec<(Name, Vec<&'a SelectionSet>)> {
    fn walk<'a>(
        set: &'a SelectionSet,
        fragments: &'a Fragments,
        keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
        depth: usize,
    ) {
        // Validation refuses cyclic fragments; the bound only keeps a bug from looping.
        if depth > 64 {
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.clone();
                    let sub = &field.node.selection_set.node;
                    match keys.iter_mut().find(|(name, _)| *name == key) {
                        Some((_, subs)) => subs.push(sub),
                        None => keys.push((key, vec![sub])),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    walk(
                        &fragment.node.selection_set.node,
                        fragments,
                        keys,
                        depth + 1,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                        walk(
                            &fragment.node.selection_set.node,
                            fragments,
                            keys,
                            depth + 1,
                        );
                    }
                }
            }
        }
    }
    let mut keys = Vec::new();
    for set in sets {
        walk(set, fragments, &mut keys, 0);
    }
    keys
}

fn order_value(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                order_value(item, sets, fragments);
            }
        }
        Value::Object(object) => {
            let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(object.len());
            for (key, subs) in keys_of(sets, fragments) {
                if let Some(mut field) = object.shift_remove(&key) {
                    order_value(&mut field, &subs, fragments);
                    ordered.insert(key, field);
                }
            }
            // Anything the walk did not name keeps its place after the rest.
            ordered.extend(object.drain(..));
            *object = ordered;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn keys(value: &Value) -> Vec<String> {
        match value {
            Value::Object(object) => object.keys().map(|key| key.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn objects_follow_the_query_through_aliases_fragments_and_lists() {
        let query = "query { b: me { name id } ...F groups { nodes { state name } } }
                     fragment F on Query { a: me { id } }";
        let mut data = Value::from_json(serde_json::json!({
            "groups": { "nodes": [{ "name": "G", "state": "active" }] },
            "a": { "id": "2" },
            "b": { "id": "1", "name": "N" },
        }))
        .unwrap();
        in_query_order(&mut data, &parse_query(query).unwrap(), None);
        assert_eq!(keys(&data), ["b", "a", "groups"]);
        let Value::Object(object) = &data else {
            panic!("an object");
        };
        assert_eq!(keys(&object["b"]), ["name", "id"]);
        let Value::Object(groups) = &object["groups"] else {
            panic!("an object");
        };
        let Value::List(nodes) = &groups["nodes"] else {
            panic!("a list");
        };
        assert_eq!(keys(&nodes[0]), ["state", "name"]);
    }
}
