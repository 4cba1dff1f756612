//! A `saml` integration through the real binary: the IdP administrator fetches the SP metadata
//! without a token, a signed assertion posted to the ACS puts its account (with the default
//! mapping's fields) into the inventory and records a successful sign-in, a tampered one is
//! refused with its reason and recorded against nobody (its subject is unverified), and the same assertion posted
//! again after a restart is refused as a replay (the replay cache lives in the store).

use gatehouse_core::{Clock as _, SystemClock};
use gatehouse_saml::testing::{self, ResponseSpec, TestKey};
use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::create_tenant;

const IDP: &str = "https://sts.windows.net/aaaabbbb-0000-cccc-1111-dddd2222eeee/";
const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";

/// Posts the HTTP-POST binding's form, as the user's browser would.
async fn post_acs(base: &str, id: &str, xml: &str) -> anyhow::Result<(StatusCode, Value)> {
    let form: String = [
        ("SAMLResponse", testing::encode(xml)),
        ("RelayState", "/".into()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", percent(v)))
    .collect::<Vec<_>>()
    .join("&");
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/idp/saml/{id}/acs"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn signins(op: &Api, tenant: &str) -> anyhow::Result<Vec<Value>> {
    let reply = op.get(&format!("/v1/signins?tenant_id={tenant}")).await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{:?}", reply.body);
    Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn saml_assertions_feed_the_inventory_and_sign_ins_and_bad_ones_are_refused(
) -> anyhow::Result<()> {
    let mut first = Gatehouse::builder().start().await?;
    let op = first.operator()?;
    create_tenant(&op, "ten_saml").await?;
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "saml", "tenant_id": "ten_saml",
                    "credentials": {"idp_entity_id": IDP, "idp_certificate": testing::IDP_RSA_CERT_PEM},
                    "config": {"public_base_url": first.base_url}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert!(created.body.get("ingest").is_none(), "saml takes no pushes");
    let id = created.str("/id");
    let acs = format!("{}/v1/idp/saml/{id}/acs", first.base_url);
    let entity_id = format!("urn:gatehouse:saml:{id}");

    // The IdP admin imports the metadata: no token needed.
    let metadata = reqwest::get(format!("{}/v1/idp/saml/{id}/metadata", first.base_url)).await?;
    assert_eq!(metadata.status(), StatusCode::OK);
    let metadata = metadata.text().await?;
    assert!(
        metadata.contains(&format!("entityID=\"{entity_id}\"")),
        "{metadata}"
    );
    assert!(
        metadata.contains(&format!("Location=\"{acs}\"")),
        "{metadata}"
    );

    // An Entra ID-shaped assertion.
    let mut spec = ResponseSpec::new(SystemClock.now(), IDP, &entity_id, &acs);
    spec.name_id = "grace.hopper@contoso.example".into();
    spec.attributes = vec![
        (format!("{CLAIMS}/givenname"), vec!["Grace".into()]),
        (format!("{CLAIMS}/surname"), vec!["Hopper".into()]),
        (
            format!("{CLAIMS}/emailaddress"),
            vec!["grace.hopper@contoso.example".into()],
        ),
        (
            "http://schemas.microsoft.com/identity/claims/displayname".into(),
            vec!["Grace Hopper".into()],
        ),
        (
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups".into(),
            vec!["5f6a7b8c-1111-2222-3333-444455556666".into()],
        ),
    ];
    let signed = spec
        .signed_assertion(&TestKey::idp_rsa().map_err(anyhow::Error::msg)?)
        .map_err(anyhow::Error::msg)?;
    let (status, body) = post_acs(&first.base_url, &id, &signed).await?;
    assert_eq!(status, StatusCode::OK, "{body}");

    let users = op.get("/v1/users?tenant_id=ten_saml").await?;
    let user = &users.body["data"][0];
    assert_eq!(user["provider"], "saml", "{:?}", users.body);
    assert_eq!(user["external_id"], "grace.hopper@contoso.example");
    assert_eq!(user["email"], "grace.hopper@contoso.example");
    assert_eq!(user["display_name"], "Grace Hopper");
    assert_eq!(user["given_name"], "Grace");
    assert_eq!(user["family_name"], "Hopper");
    assert_eq!(
        user["groups"],
        json!(["5f6a7b8c-1111-2222-3333-444455556666"])
    );
    assert!(user["identity_id"].is_string());
    let recorded = signins(&op, "ten_saml").await?;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["outcome"], "success");
    assert_eq!(recorded[0]["user_id"], user["id"]);

    // Tampered: a group added after signing.
    let tampered = signed.replace(
        "<saml:AttributeValue>5f6a7b8c",
        "<saml:AttributeValue>global-admins</saml:AttributeValue><saml:AttributeValue>5f6a7b8c",
    );
    let (status, body) = post_acs(&first.base_url, &id, &tampered).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "saml_digest_mismatch", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("signed"));
    let recorded = signins(&op, "ten_saml").await?;
    let failed: Vec<&Value> = recorded
        .iter()
        .filter(|e| e["outcome"] == "failure")
        .collect();
    // Tampered: its subject is only claimed, so nothing is recorded against it.
    assert_eq!(failed.len(), 0, "{recorded:?}");

    // After a restart the assertion is still known: a replay.
    first.terminate().await?;
    let second = Gatehouse::builder()
        .data_dir(&first.data_dir)
        .start()
        .await?;
    let (status, body) = post_acs(&second.base_url, &id, &signed).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "saml_replayed", "{body}");
    Ok(())
}
