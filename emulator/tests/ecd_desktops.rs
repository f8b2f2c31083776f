//! DescribeDesktops: which desktops a caller sees, the filters, both ways of paging, and the errors.

mod common;

use common::*;
use serde_json::{Value, json};

/// Desktop ids of an answer, in order.
fn ids(body: &Value) -> Vec<String> {
    body["Desktops"]
        .as_array()
        .expect("Desktops")
        .iter()
        .map(|d| d["DesktopId"].as_str().expect("DesktopId").to_string())
        .collect()
}

/// The default seed plus `n` more desktops of the default account in the default region (`ecd-many<n>`), the
/// odd ones `Stopped`, and one of the other account.
async fn with_desktops(e: &Emulator, n: usize) -> Vec<String> {
    let mut seed: Value =
        serde_json::from_str(alicloud_emulator::model::DEFAULT_SEED).expect("seed");
    let extra: Vec<String> = (0..n).map(|i| format!("ecd-many{i:04}")).collect();
    let desktops = seed["ecdDesktops"].as_array_mut().expect("ecdDesktops");
    for (i, id) in extra.iter().enumerate() {
        desktops.push(json!({
            "regionId": REGION, "desktopId": id, "ownerId": OWNER, "desktopName": format!("desk-{i}"),
            "desktopStatus": if i % 2 == 1 { "Stopped" } else { "Running" },
        }));
    }
    desktops
        .push(json!({"regionId": REGION, "desktopId": "ecd-othersdesktop01", "ownerId": OTHER}));
    let (status, body) = e.control_post("seed", seed).await;
    assert_eq!(status, 200, "seed: {body}");
    extra
}

#[tokio::test]
async fn a_desktop_is_found_by_id_and_an_unknown_id_matches_nothing() {
    let e = Emulator::start().await;
    let found = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("DesktopId.1", DESKTOP)
        .ok()
        .await;
    assert_eq!(ids(&found), [DESKTOP]);
    assert_eq!(found["TotalCount"], 1);
    let desktop = &found["Desktops"][0];
    assert_eq!(desktop["DesktopStatus"], "Running");
    for field in [
        "DesktopName",
        "DesktopType",
        "OsType",
        "OfficeSiteId",
        "ProtocolType",
    ] {
        assert!(desktop.get(field).is_some(), "{field} missing: {desktop}");
    }
    assert!(found["RequestId"].is_string(), "{found}");

    let none = e
        .v1(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("DesktopId.1", "ecd-doesnotexist0001")
        .ok()
        .await;
    assert_eq!(ids(&none), Vec::<String>::new());
    assert_eq!(none["TotalCount"], 0);
    assert!(none.get("NextToken").is_none(), "{none}");
}

#[tokio::test]
async fn only_the_callers_desktops_in_the_region_are_listed() {
    let e = Emulator::start().await;
    with_desktops(&e, 0).await;
    let mine = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .ok()
        .await;
    assert_eq!(ids(&mine), [DESKTOP, "ecd-demodesktop0000002"]);

    let others = e
        .v3(ECD, "DescribeDesktops")
        .key(OTHER_KEY.0, OTHER_KEY.1)
        .param("RegionId", REGION)
        .ok()
        .await;
    assert_eq!(ids(&others), ["ecd-othersdesktop01"]);
    // Another account's desktop is not found by id either.
    let by_id = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("DesktopId.1", "ecd-othersdesktop01")
        .ok()
        .await;
    assert_eq!(ids(&by_id), Vec::<String>::new());

    let elsewhere = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", "cn-shanghai")
        .param("DesktopId.1", DESKTOP)
        .ok()
        .await;
    assert_eq!(ids(&elsewhere), Vec::<String>::new());
}

#[tokio::test]
async fn status_and_name_filter() {
    let e = Emulator::start().await;
    let extra = with_desktops(&e, 4).await;
    let stopped = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("DesktopStatus", "Stopped")
        .ok()
        .await;
    assert_eq!(ids(&stopped), [extra[1].clone(), extra[3].clone()]);
    let named = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("DesktopName", "desk-2")
        .ok()
        .await;
    assert_eq!(ids(&named), [extra[2].clone()]);
    assert_eq!(named["Desktops"][0]["DesktopName"], "desk-2");
}

#[tokio::test]
async fn max_results_and_next_token_walk_every_page() {
    let e = Emulator::start().await;
    let extra = with_desktops(&e, 23).await;
    let mut expected = vec![DESKTOP.to_string(), "ecd-demodesktop0000002".to_string()];
    expected.extend(extra);

    let first = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .ok()
        .await;
    assert_eq!(ids(&first).len(), 10, "10 by default: {first}");
    assert_eq!(first["TotalCount"], 25);

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut call = e
            .v3(ECD, "DescribeDesktops")
            .param("RegionId", REGION)
            .param("MaxResults", "7");
        if let Some(t) = &token {
            call = call.param("NextToken", t);
        }
        let page = call.ok().await;
        pages += 1;
        seen.extend(ids(&page));
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!((pages, seen), (4, expected));
}

#[tokio::test]
async fn page_number_and_page_size_page_too() {
    let e = Emulator::start().await;
    let extra = with_desktops(&e, 10).await;
    let third = e
        .v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("PageNumber", "3")
        .param("PageSize", "5")
        .ok()
        .await;
    assert_eq!(ids(&third), extra[8..].to_vec());
    assert_eq!(
        (
            &third["PageNumber"],
            &third["PageSize"],
            &third["TotalCount"]
        ),
        (&json!(3), &json!(5), &json!(12))
    );
    assert!(third.get("NextToken").is_none(), "{third}");
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let e = Emulator::start().await;
    e.v3(ECD, "DescribeDesktops")
        .fails(400, "MissingParameter")
        .await;
    e.v3(ECD, "DescribeDesktops")
        .param("RegionId", "cn-nowhere")
        .fails(404, "InvalidRegionId.NotFound")
        .await;
    e.v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("MaxResults", "101")
        .fails(400, "InvalidParameter")
        .await;
    e.v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .param("NextToken", "not-a-token")
        .fails(400, "InvalidParameter")
        .await;
    let too_many: Vec<String> = (0..101).map(|i| format!("ecd-id{i:014}")).collect();
    e.v3(ECD, "DescribeDesktops")
        .param("RegionId", REGION)
        .list("DesktopId", &too_many)
        .fails(400, "InvalidParameter")
        .await;
    // DescribeDesktops is an ECD action, not an ECS one.
    e.v3(ECS, "DescribeDesktops")
        .param("RegionId", REGION)
        .fails(404, "InvalidAction.NotFound")
        .await;
    // The calls are counted like every other action.
    let calls = e.control_get("calls").await;
    assert_eq!(calls["byAction"]["DescribeDesktops"], 5, "{calls}");
}
