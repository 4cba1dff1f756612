//! Great-circle distance and network membership.

use std::net::IpAddr;

use gatehouse_core::model::SignInEvent;
use ipnet::IpNet;

/// Mean Earth radius (IUGG), in km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Half the Earth's circumference: no two places are further apart.
pub(crate) const MAX_DISTANCE_KM: f64 = std::f64::consts::PI * EARTH_RADIUS_KM;

/// Distance in km between two `(latitude, longitude)` points in degrees (haversine).
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    // Rounding can push h a hair above 1 for antipodes; asin would then return NaN.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The event's coordinates, when both are present and on the globe.
pub(crate) fn coordinates(event: &SignInEvent) -> Option<(f64, f64)> {
    let lat = event.latitude?;
    let lon = event.longitude?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// Whether the event's source IP lies in one of `networks`.
pub(crate) fn in_networks(event: &SignInEvent, networks: &[IpNet]) -> bool {
    if networks.is_empty() {
        return false;
    }
    event
        .ip
        .as_deref()
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        .is_some_and(|ip| networks.iter().any(|net| net.contains(&ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // London Heathrow to New York JFK: about 5,540 km.
        let d = haversine_km((51.47, -0.4543), (40.6413, -73.7781));
        assert!((d - 5540.0).abs() < 15.0, "{d}");
        assert_eq!(haversine_km((10.0, 10.0), (10.0, 10.0)), 0.0);
        let antipodes = haversine_km((0.0, 0.0), (0.0, 180.0));
        assert!((antipodes - MAX_DISTANCE_KM).abs() < 1e-6);
        assert!(!antipodes.is_nan());
    }
}
