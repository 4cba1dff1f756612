//! GeoIP enrichment of sign-ins from the test database in `tests/fixtures`.

use gatehouse_core::model::{EventCategory, Outcome};
use gatehouse_core::TenantId;

use super::support::t;

#[test]
fn geoip_fills_what_the_provider_left_out() {
    use gatehouse_engine::geoip::GeoIp;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb");
    let geoip = GeoIp::open(&path).unwrap();
    let tenant = TenantId::parse("ten_geo").unwrap();
    let integration = gatehouse_core::IntegrationId::parse("int_geo").unwrap();
    let bare = |ip: &str| gatehouse_core::model::SignInEvent {
        id: gatehouse_core::SignInId::derive(t(0), &["int_geo", ip]),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        provider_event_id: ip.into(),
        time: t(0),
        category: EventCategory::Authentication,
        event_type: "user.session.start".into(),
        user_id: None,
        external_user_id: None,
        login: None,
        outcome: Outcome::Success,
        reason: None,
        ip: Some(ip.into()),
        country: None,
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: None,
        device: None,
        mfa_factor: None,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        source: Default::default(),
        signal: Default::default(),
        raw: None,
    };
    let mut event = bare("198.51.100.7");
    geoip.fill(&mut event);
    assert_eq!(event.country.as_deref(), Some("Iceland"));
    assert_eq!(event.city.as_deref(), Some("Reykjavik"));
    assert!((event.latitude.unwrap() - 64.1466).abs() < 1e-6);
    assert!((event.longitude.unwrap() + 21.9426).abs() < 1e-6);
    // Provider data wins: nothing it sent is overwritten.
    let mut event = bare("203.0.113.9");
    event.country = Some("Provider Says".into());
    event.latitude = Some(1.0);
    event.longitude = Some(2.0);
    geoip.fill(&mut event);
    assert_eq!(event.country.as_deref(), Some("Provider Says"));
    assert_eq!((event.latitude, event.longitude), (Some(1.0), Some(2.0)));
    assert_eq!(
        event.city.as_deref(),
        Some("Wellington"),
        "only the empty field is filled"
    );
    // Unknown and malformed addresses change nothing.
    for ip in ["192.0.2.1", "not an ip"] {
        let mut event = bare(ip);
        geoip.fill(&mut event);
        assert!(event.country.is_none() && event.latitude.is_none(), "{ip}");
    }
    assert!(GeoIp::open(std::path::Path::new("/nonexistent/GeoLite2-City.mmdb")).is_err());
}
