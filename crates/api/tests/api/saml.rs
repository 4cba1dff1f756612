//! `saml` integrations over HTTP: the ACS takes a signed assertion (the account appears in the
//! inventory with its mapped fields, joined to its identity by e-mail, and a successful sign-in
//! is recorded), refuses a replay, a tampered assertion and a DTD with 400 and a reason (a
//! failed sign-in recorded when the subject is known: the signature verified), and the SP metadata is public.

use gatehouse_saml::testing::{self, ResponseSpec, TestKey};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, start, Server};

const IDP: &str = "https://idp.example/saml";

async fn saml_integration(s: &Server, tenant: &str, config: Value) -> String {
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "saml", "tenant_id": tenant,
                "credentials": {"idp_entity_id": IDP,
                                "idp_certificate": [testing::OTHER_RSA_CERT_PEM, testing::IDP_RSA_CERT_PEM]},
                "config": config})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn spec(s: &Server, id: &str) -> ResponseSpec {
    let acs = format!("{}/v1/idp/saml/{id}/acs", s.base);
    ResponseSpec::new(
        s.gateway.clock().now(),
        IDP,
        &format!("urn:gatehouse:saml:{id}"),
        &acs,
    )
}

async fn post_acs(s: &Server, id: &str, xml: &str) -> (StatusCode, Value) {
    let form = format!(
        "SAMLResponse={}&RelayState=r",
        form_encode(&testing::encode(xml))
    );
    let resp = s
        .http
        .post(format!("{}/v1/idp/saml/{id}/acs", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "Mozilla/5.0 (test)")
        .header("x-forwarded-for", "203.0.113.7, 10.0.0.1")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn form_encode(value: &str) -> String {
    value
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

async fn signins(s: &Server, tenant: &str) -> Vec<Value> {
    let (status, body) = s
        .op(
            Method::GET,
            &format!("/v1/signins?tenant_id={tenant}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_signed_assertion_upserts_the_user_and_records_a_sign_in_and_its_replay_is_refused() {
    let s = start().await;
    s.tenant("ten_saml").await;
    let id = saml_integration(&s, "ten_saml", json!({})).await;
    let xml = spec(&s, &id)
        .signed_assertion(&TestKey::idp_rsa().unwrap())
        .unwrap();
    let (status, body) = post_acs(&s, &id, &xml).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subject"], "ada@example.com");
    let user_id = body["user_id"].as_str().unwrap().to_owned();

    let (status, users) = s
        .op(
            Method::GET,
            "/v1/users?tenant_id=ten_saml&provider=saml",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let user = &users["data"][0];
    assert_eq!(user["id"], user_id.as_str());
    assert_eq!(user["external_id"], "ada@example.com");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["given_name"], "Ada");
    assert_eq!(user["family_name"], "Lovelace");
    assert_eq!(user["display_name"], "Ada Lovelace");
    assert_eq!(user["groups"], json!(["engineering", "admins"]));
    assert!(user["identity_id"].is_string(), "{user}");

    let recorded = signins(&s, "ten_saml").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["outcome"], "success");
    assert_eq!(recorded[0]["provider"], "saml");
    assert_eq!(recorded[0]["user_id"], user_id.as_str());
    assert_eq!(recorded[0]["ip"], "203.0.113.7");

    // The same assertion again: refused, and the attempt recorded as a failure.
    let (status, body) = post_acs(&s, &id, &xml).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, None);
    assert_eq!(body["error"]["code"], "saml_replayed", "{body}");
    let recorded = signins(&s, "ten_saml").await;
    assert_eq!(recorded.len(), 2);
    let failed = recorded.iter().find(|e| e["outcome"] == "failure").unwrap();
    assert!(failed["reason"]
        .as_str()
        .unwrap()
        .starts_with("saml_replayed"));
    assert_eq!(failed["user_id"], user_id.as_str());

    // A second IdP asserting the same e-mail joins the same identity.
    let other = saml_integration(&s, "ten_saml", json!({})).await;
    let xml = spec(&s, &other)
        .signed_assertion(&TestKey::idp_rsa().unwrap())
        .unwrap();
    let (status, body) = post_acs(&s, &other, &xml).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, users) = s
        .op(
            Method::GET,
            "/v1/users?tenant_id=ten_saml&email=ada@example.com",
            None,
        )
        .await;
    let users = users["data"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["identity_id"], users[1]["identity_id"]);
}

#[tokio::test]
async fn a_tampered_assertion_answers_400_with_the_reason_and_records_nothing() {
    let s = start().await;
    s.tenant("ten_tamper").await;
    let id = saml_integration(&s, "ten_tamper", json!({})).await;
    let xml = spec(&s, &id)
        .signed_assertion(&TestKey::idp_rsa().unwrap())
        .unwrap()
        .replace(">Lovelace<", ">Byron<");
    let (status, body) = post_acs(&s, &id, &xml).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, None);
    assert_eq!(body["error"]["code"], "saml_digest_mismatch", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("changed after it was signed"));
    // Its subject is only claimed (the signature did not verify): no failed sign-in is
    // recorded against it, or anyone could pile failures onto any account.
    let recorded = signins(&s, "ten_tamper").await;
    assert_eq!(recorded, Vec::<Value>::new());
    let (_, users) = s
        .op(Method::GET, "/v1/users?tenant_id=ten_tamper", None)
        .await;
    assert_eq!(
        users["data"],
        json!([]),
        "a refused assertion writes no account"
    );

    // A DTD is refused before parsing; no subject is known, so nothing is recorded.
    let dtd = format!("<!DOCTYPE r [<!ENTITY x \"y\">]>{}", spec(&s, &id).xml());
    let (status, body) = post_acs(&s, &id, &dtd).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, None);
    assert_eq!(body["error"]["code"], "saml_dtd_refused");
    assert_eq!(signins(&s, "ten_tamper").await.len(), 0);

    // No SAMLResponse, an unknown integration, another type's integration.
    let resp = s
        .http
        .post(format!("{}/v1/idp/saml/{id}/acs", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("RelayState=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (status, body) = post_acs(&s, "int_nope", &xml).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let okta = s.okta("ten_tamper").await;
    let (status, body) = post_acs(&s, okta["id"].as_str().unwrap(), &xml).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn metadata_is_public_and_names_the_entity_id_and_acs() {
    let s = start().await;
    s.tenant("ten_md").await;
    let id = saml_integration(
        &s,
        "ten_md",
        json!({"public_base_url": "https://gatehouse.acme.example/", "sp_entity_id": "https://gatehouse.acme.example/sp"}),
    )
    .await;
    let resp = s
        .http
        .get(format!("{}/v1/idp/saml/{id}/metadata", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = resp.text().await.unwrap();
    assert!(
        xml.contains(r#"entityID="https://gatehouse.acme.example/sp""#),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            r#"Location="https://gatehouse.acme.example/v1/idp/saml/{id}/acs""#
        )),
        "{xml}"
    );
    // Without a public base URL: the default entity id and the request's host.
    let plain = saml_integration(&s, "ten_md", json!({})).await;
    let xml = s.text(&format!("/v1/idp/saml/{plain}/metadata")).await;
    assert!(xml.contains(&format!(r#"entityID="urn:gatehouse:saml:{plain}""#)));
    assert!(xml.contains(&format!(r#"Location="{}/v1/idp/saml/{plain}/acs""#, s.base)));
    let (status, _) = s
        .call(Method::GET, "/v1/idp/saml/int_nope/metadata", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_integration_given_idp_metadata_validates_with_its_certificate() {
    let s = start().await;
    s.tenant("ten_meta").await;
    let cert: String = testing::IDP_RSA_CERT_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let metadata = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "saml", "tenant_id": "ten_meta",
                        "credentials": {"idp_metadata_xml": metadata}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let xml = spec(&s, &id)
        .signed_assertion(&TestKey::idp_rsa().unwrap())
        .unwrap();
    let (status, body) = post_acs(&s, &id, &xml).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
