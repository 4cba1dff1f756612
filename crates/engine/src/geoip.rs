//! GeoIP enrichment: where a provider's log carries no geolocation for a sign-in's IP, an
//! optional MaxMind-format City database (GeoLite2-City, GeoIP2-City, or compatible) fills in
//! country, city and coordinates. Provider data always wins; nothing is overwritten.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use gatehouse_core::model::SignInEvent;
use serde::Deserialize;

/// The parts of a City record Gatehouse uses.
#[derive(Debug, Deserialize)]
struct CityRecord {
    country: Option<Place>,
    city: Option<Place>,
    location: Option<Location>,
}

#[derive(Debug, Deserialize)]
struct Place {
    names: Option<BTreeMap<String, String>>,
}

impl Place {
    fn english(&self) -> Option<String> {
        self.names.as_ref()?.get("en").cloned()
    }
}

#[derive(Debug, Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// An opened MaxMind-format database.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl GeoIp {
    /// Opens the database; the error says why, for the configuration error.
    pub fn open(path: &Path) -> Result<Self, String> {
        maxminddb::Reader::open_readfile(path)
            .map(|reader| Self { reader })
            .map_err(|e| format!("cannot open the GeoIP database: {e}"))
    }

    /// Fills what the provider left empty, if the database knows the IP.
    pub fn fill(&self, event: &mut SignInEvent) {
        let needs = event.country.is_none() || event.latitude.is_none() || event.city.is_none();
        if !needs {
            return;
        }
        let Some(ip) = event.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()) else {
            return;
        };
        let Ok(Some(record)) = self.reader.lookup::<CityRecord>(ip) else {
            return;
        };
        if event.country.is_none() {
            event.country = record.country.as_ref().and_then(Place::english);
        }
        if event.city.is_none() {
            event.city = record.city.as_ref().and_then(Place::english);
        }
        if event.latitude.is_none() && event.longitude.is_none() {
            if let Some(location) = record.location {
                event.latitude = location.latitude;
                event.longitude = location.longitude;
            }
        }
    }
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeoIp")
    }
}
