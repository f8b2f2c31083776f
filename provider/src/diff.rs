//! The generic Diff: which inputs changed, and whether a change replaces the resource.
//!
//! Replace-on-change properties come from the schema. A resource only names two kinds of exceptions
//! ([`Rules`]): inputs the Alibaba API cannot report back, whose value is adopted from the program when the
//! old state has none (so an imported resource stays diff-free), and inputs the API cannot unset, which a
//! program may leave out without asking for a change it cannot make.

use std::collections::HashMap;

use serde_json::Value;

use crate::proto::pulumirpc::{
    DiffResponse, PropertyDiff, diff_response::DiffChanges, property_diff::Kind,
};
use crate::schema::ResourceSpec;
use crate::values::{self, Props};

/// One input's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Set where it was unset.
    Add,
    /// Unset where it was set.
    Delete,
    /// Set to a different value.
    Update,
}

/// The outcome of comparing old state with new inputs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Changed inputs in schema order, with whether each change forces a replacement.
    pub changes: Vec<(String, Change, bool)>,
}

impl Plan {
    /// Replaces the resource whatever its inputs say, showing `cause` as the property that forces it.
    pub fn force_replace(&mut self, cause: &str) {
        match self.changes.iter_mut().find(|(name, _, _)| name == cause) {
            Some(change) => change.2 = true,
            None => self.changes.push((cause.to_string(), Change::Update, true)),
        }
    }

    /// Inputs whose change forces a replacement.
    pub fn replaces(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|(_, _, replace)| *replace)
            .map(|(name, _, _)| name.clone())
            .collect()
    }

    /// The engine's view of this plan.
    pub fn into_response(self) -> DiffResponse {
        let replaces = self.replaces();
        let diffs = self.changes.iter().map(|(n, _, _)| n.clone()).collect();
        let detailed_diff: HashMap<String, PropertyDiff> = self
            .changes
            .iter()
            .map(|(name, change, replace)| {
                let kind = match (change, replace) {
                    (Change::Add, false) => Kind::Add,
                    (Change::Add, true) => Kind::AddReplace,
                    (Change::Delete, false) => Kind::Delete,
                    (Change::Delete, true) => Kind::DeleteReplace,
                    (Change::Update, false) => Kind::Update,
                    (Change::Update, true) => Kind::UpdateReplace,
                };
                let diff = PropertyDiff {
                    kind: kind as i32,
                    input_diff: true,
                };
                (name.clone(), diff)
            })
            .collect();
        DiffResponse {
            changes: if self.changes.is_empty() {
                DiffChanges::DiffNone
            } else {
                DiffChanges::DiffSome
            } as i32,
            replaces,
            diffs,
            detailed_diff,
            has_detailed_diff: true,
            delete_before_replace: false,
            stables: Vec::new(),
        }
    }
}

/// A resource's exceptions to the generic comparison.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules<'a> {
    /// Inputs the API cannot report: absent in the old state, the program's value is adopted.
    pub unobservable: &'a [&'a str],
    /// Inputs the API cannot unset: absent in the program, the current value is kept.
    pub keep_when_unset: &'a [&'a str],
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !values::reveal(v).is_null())
}

/// Compares the old state (`olds`, falling back to `old_inputs` for inputs the state lacks) with `news`.
pub fn plan(
    spec: &ResourceSpec,
    rules: Rules<'_>,
    olds: &Props,
    old_inputs: &Props,
    news: &Props,
    ignore_changes: &[String],
) -> Plan {
    let mut changes = Vec::new();
    for name in &spec.inputs {
        if ignore_changes.iter().any(|i| i == name) {
            continue;
        }
        let old = present(olds.get(name)).or_else(|| present(old_inputs.get(name)));
        let new = present(news.get(name));
        let change = match (old, new) {
            (None, None) => None,
            (None, Some(_)) if rules.unobservable.contains(&name.as_str()) => None,
            (None, Some(_)) => Some(Change::Add),
            (Some(_), None) if rules.keep_when_unset.contains(&name.as_str()) => None,
            (Some(_), None) => Some(Change::Delete),
            (Some(o), Some(n))
                if values::is_unknown(n) || values::reveal(o) != values::reveal(n) =>
            {
                Some(Change::Update)
            }
            (Some(_), Some(_)) => None,
        };
        if let Some(change) = change {
            let replace = spec.replace_on_changes.contains(name);
            changes.push((name.clone(), change, replace));
        }
    }
    Plan { changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn props(v: Value) -> Props {
        v.as_object().cloned().unwrap_or_default()
    }

    fn image() -> &'static ResourceSpec {
        Schema::embedded().resource("alicloud:ecd:Image").unwrap()
    }

    fn share() -> &'static ResourceSpec {
        Schema::embedded()
            .resource("alicloud:ecs:ImageSharePermission")
            .unwrap()
    }

    /// name, resource, olds, old inputs, news, expected changes.
    type Case = (
        &'static str,
        &'static ResourceSpec,
        Value,
        Value,
        Value,
        Vec<(&'static str, Change, bool)>,
    );

    #[test]
    fn diff_table() {
        let d = "ecd-demodesktop0000001";
        let cases: Vec<Case> = vec![
            (
                "no change",
                image(),
                json!({"desktopId": d, "imageName": "a", "status": "Available"}),
                json!({}),
                json!({"desktopId": d, "imageName": "a"}),
                vec![],
            ),
            (
                "rename updates in place",
                image(),
                json!({"desktopId": d, "imageName": "a"}),
                json!({}),
                json!({"desktopId": d, "imageName": "b"}),
                vec![("imageName", Change::Update, false)],
            ),
            (
                "description added",
                image(),
                json!({"desktopId": d}),
                json!({}),
                json!({"desktopId": d, "description": "x"}),
                vec![("description", Change::Add, false)],
            ),
            (
                "description left out is kept",
                image(),
                json!({"desktopId": d, "description": "x"}),
                json!({}),
                json!({"desktopId": d}),
                vec![],
            ),
            (
                "share image removed",
                share(),
                json!({"imageId": "m-1", "accountId": "1"}),
                json!({}),
                json!({"accountId": "1"}),
                vec![("imageId", Change::Delete, true)],
            ),
            (
                "other desktop replaces",
                image(),
                json!({"desktopId": d}),
                json!({}),
                json!({"desktopId": "ecd-other"}),
                vec![("desktopId", Change::Update, true)],
            ),
            (
                "imported image adopts the desktop",
                image(),
                json!({"imageName": "a", "status": "Available"}),
                json!({"imageName": "a"}),
                json!({"desktopId": d, "imageName": "a"}),
                vec![],
            ),
            (
                "adopted desktop then changed replaces",
                image(),
                json!({"imageName": "a"}),
                json!({"desktopId": d, "imageName": "a"}),
                json!({"desktopId": "ecd-other", "imageName": "a"}),
                vec![("desktopId", Change::Update, true)],
            ),
            (
                "unknown name is an update",
                image(),
                json!({"desktopId": d, "imageName": "a"}),
                json!({}),
                json!({"desktopId": d, "imageName": values::UNKNOWN}),
                vec![("imageName", Change::Update, false)],
            ),
            (
                "share account replaces",
                share(),
                json!({"imageId": "m-1", "accountId": "1"}),
                json!({}),
                json!({"imageId": "m-1", "accountId": "2"}),
                vec![("accountId", Change::Update, true)],
            ),
            (
                "share image replaces",
                share(),
                json!({"imageId": "m-1", "accountId": "1"}),
                json!({}),
                json!({"imageId": "m-2", "accountId": "1"}),
                vec![("imageId", Change::Update, true)],
            ),
            (
                "share same",
                share(),
                json!({"imageId": "m-1", "accountId": "1"}),
                json!({}),
                json!({"imageId": "m-1", "accountId": "1"}),
                vec![],
            ),
        ];
        for (name, spec, olds, old_inputs, news, want) in cases {
            let rules = Rules {
                unobservable: &["desktopId"],
                keep_when_unset: &["imageName", "description"],
            };
            let got = plan(
                spec,
                rules,
                &props(olds),
                &props(old_inputs),
                &props(news),
                &[],
            );
            let want: Vec<_> = want
                .into_iter()
                .map(|(n, c, r)| (n.to_string(), c, r))
                .collect();
            assert_eq!(got.changes, want, "case {name}");
        }
    }

    #[test]
    fn ignore_changes_is_honoured() {
        let got = plan(
            image(),
            Rules::default(),
            &props(json!({"imageName": "a"})),
            &Props::new(),
            &props(json!({"imageName": "b"})),
            &["imageName".into()],
        );
        assert!(got.changes.is_empty());
    }

    #[test]
    fn response_marks_replacements() {
        let got = plan(
            share(),
            Rules::default(),
            &props(json!({"imageId": "m-1", "accountId": "1"})),
            &Props::new(),
            &props(json!({"imageId": "m-1", "accountId": "2"})),
            &[],
        );
        let resp = got.into_response();
        assert_eq!(resp.changes, DiffChanges::DiffSome as i32);
        assert_eq!(resp.replaces, vec!["accountId"]);
        assert_eq!(
            resp.detailed_diff["accountId"].kind,
            Kind::UpdateReplace as i32
        );
        assert!(!resp.delete_before_replace);
    }
}
