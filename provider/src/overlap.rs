//! One stack that manages an image's whole share list (`ImageShareList`) and also a share of the same image
//! through another resource: each `pulumi up` would undo the other's shares. The provider process sees the
//! Check of every resource of the stack, so it can tell, and warn.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::resources::{ShareClaim, logical_name};

/// The image shares claimed so far in this provider process: image → (URN → whole list?).
#[derive(Default)]
pub struct ShareClaims {
    by_image: Mutex<BTreeMap<String, BTreeMap<String, bool>>>,
}

/// The resource type of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`), for messages.
fn type_of(urn: &str) -> &str {
    let qualified = urn.split("::").nth(2).unwrap_or_default();
    qualified.rsplit('$').next().unwrap_or_default()
}

impl ShareClaims {
    /// Records that `urn` manages `claim`; the warning to show for `urn` when another resource of this stack
    /// manages shares of the same image and one of the two owns the whole list.
    pub fn record(&self, urn: &str, claim: &ShareClaim) -> Option<String> {
        let image_id = claim.image_id();
        let whole = matches!(claim, ShareClaim::WholeList(_));
        let Ok(mut by_image) = self.by_image.lock() else {
            return None;
        };
        let claims = by_image.entry(image_id.to_string()).or_default();
        claims.insert(urn.to_string(), whole);
        let others: Vec<String> = claims
            .iter()
            .filter(|(other, other_whole)| *other != urn && (whole || **other_whole))
            .map(|(other, _)| format!("{} `{}`", type_of(other), logical_name(other)))
            .collect();
        if others.is_empty() {
            return None;
        }
        Some(format!(
            "image {image_id} has its shares managed both by this {} and by {}; an ImageShareList owns every \
             share of its image, so each `pulumi up` would undo shares the other makes. Manage the image's \
             shares with one ImageShareList, or with ImageSharePermission resources only",
            type_of(urn),
            others.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "urn:pulumi:dev::p::alicloud:ecs:ImageShareList::all";
    const SHARE_A: &str = "urn:pulumi:dev::p::alicloud:ecs:ImageSharePermission::a";
    const SHARE_B: &str = "urn:pulumi:dev::p::alicloud:ecs:ImageSharePermission::b";

    #[test]
    fn a_list_and_a_share_of_one_image_overlap_in_either_order() {
        let claims = ShareClaims::default();
        assert_eq!(
            claims.record(SHARE_A, &ShareClaim::OneAccount("m-1".into())),
            None
        );
        assert_eq!(
            claims.record(SHARE_B, &ShareClaim::OneAccount("m-1".into())),
            None,
            "per-account shares of one image coexist"
        );
        let warning = claims
            .record(LIST, &ShareClaim::WholeList("m-1".into()))
            .expect("warning");
        assert!(warning.contains("ImageSharePermission `a`"), "{warning}");
        assert!(warning.contains("ImageSharePermission `b`"), "{warning}");

        let claims = ShareClaims::default();
        claims.record(LIST, &ShareClaim::WholeList("m-1".into()));
        let warning = claims
            .record(SHARE_A, &ShareClaim::OneAccount("m-1".into()))
            .expect("warning");
        assert!(warning.contains("ImageShareList `all`"), "{warning}");
        assert_eq!(
            claims.record(SHARE_B, &ShareClaim::OneAccount("m-2".into())),
            None,
            "another image"
        );
    }
}
