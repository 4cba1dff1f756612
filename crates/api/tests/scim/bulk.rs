//! Bulk: operations that reference each other by `bulkId`, per-operation statuses, and the
//! limit on the number of operations.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_scim_error, fixture, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_with_references_and_limits() {
    let s = start().await;
    let t = s.tenant("ten_bulk", json!({})).await;
    let tok = &t.scim_token;
    let r = s
        .scim(Method::POST, "/Bulk", tok, Some(fixture("bulk.json", &[])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3, "{}", r.body);
    let by_bulk = |b: &str| ops.iter().find(|o| o["bulkId"] == b).unwrap().clone();
    assert_eq!(by_bulk("u1")["status"], "201");
    assert_eq!(by_bulk("g1")["status"], "201");
    assert_eq!(by_bulk("u2")["status"], "409");
    let g = by_bulk("g1");
    let loc = g["location"].as_str().unwrap();
    let gid = loc.rsplit('/').next().unwrap();
    let r = s
        .scim(Method::GET, &format!("/Groups/{gid}"), tok, None)
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1, "{}", r.body);

    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/x{i}")}))
        .collect();
    let r = s
        .scim(
            Method::POST,
            "/Bulk",
            tok,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                        "Operations": too_many}),
            ),
        )
        .await;
    assert_scim_error(&r, StatusCode::PAYLOAD_TOO_LARGE, Some("tooMany"));
}
