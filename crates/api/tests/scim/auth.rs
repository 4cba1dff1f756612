//! Authentication: the bearer and apikey schemes in any case, the refusals (missing, wrong,
//! foreign or operator credentials), and a SCIM token never opening the management API.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_scim_error, start, OPERATOR_KEY, SCIM_JSON};

#[tokio::test]
async fn authentication_schemes_and_refusals() {
    let s = start().await;
    let t = s.tenant("ten_auth", json!({})).await;
    for scheme in ["Bearer", "bearer", "apikey", "ApiKey", "APIKEY"] {
        let auth = format!("{scheme} {}", t.scim_token);
        let r = s
            .send(
                Method::GET,
                "/v1/scim/v2/Users",
                Some(&auth),
                SCIM_JSON,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.body);
    }
    let bad = [
        None,
        Some("Bearer gh_scim_wrong".to_owned()),
        Some(format!("Basic {}", t.scim_token)),
        Some(format!("Bearer {}", t.api_key)),
        Some(format!("Bearer {OPERATOR_KEY}")),
    ];
    for auth in bad {
        let r = s
            .send(
                Method::GET,
                "/v1/scim/v2/Users",
                auth.as_deref(),
                SCIM_JSON,
                None,
                &[],
            )
            .await;
        assert_scim_error(&r, StatusCode::UNAUTHORIZED, None);
    }
    // The SCIM token does not open the management API.
    let r = s.api(Method::GET, "/v1/users", &t.scim_token, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
