//! Configuration: built-in defaults, then the TOML file, then `GATEHOUSE_<SECTION>_<KEY>`
//! environment variables (and a few short names), then command-line flags. Every error names the
//! key (or variable) at fault, and everything is checked before the port is bound.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_daemon::keys::KeySource;
use gatehouse_daemon::StoreBackend;
use gatehouse_engine::secrets::MasterKey;
use secrecy::{ExposeSecret, SecretString};

use crate::ServeArgs;

/// How an error about the configured master key names it.
pub(crate) const MASTER_KEY_NAMES: &str = "GATEHOUSE_MASTER_KEY (security.master_key)";

/// Where settings come from besides the file; a trait so tests can pass a map instead of
/// touching the process environment.
pub(crate) trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub(crate) struct Environment;

impl Source for Environment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

#[cfg(test)]
impl Source for BTreeMap<&'static str, &'static str> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).map(|v| (*v).to_owned())
    }
}

/// A configuration problem, naming the key or variable.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub(crate) struct ConfigError {
    pub key: String,
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// The daemon's settings, all validated.
#[derive(Debug)]
pub(crate) struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The embedded sled store (in `data_dir`) or a PostgreSQL URL.
    pub store: StoreBackend,
    /// Pushes are refused (503) while this many bytes of acknowledged deliveries await storing.
    pub inbox_max_backlog_bytes: u64,
    /// sled's page cache, in bytes.
    pub store_cache_capacity_bytes: u64,
    /// How many response actions run at the providers at once.
    pub actions_max_concurrent: usize,
    /// The longest provider retry-after a response action waits.
    pub actions_max_retry_after: Duration,
    /// One tenant's pushes are refused (503) past this percentage of that backlog.
    pub inbox_tenant_share_percent: u8,
    pub body_limit_bytes: usize,
    /// Requests handled at once before the rest are shed with 503.
    pub max_concurrent_requests: usize,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub operator_key: Option<SecretString>,
    pub master_key: Option<SecretString>,
    pub master_key_file: Option<PathBuf>,
    pub allow_custom_endpoints: bool,
    /// The console's session cookie is `Secure` on every response (behind a TLS proxy that
    /// does not send `X-Forwarded-Proto`).
    pub secure_cookies: bool,
    pub outputs: OutputSettings,
    /// A MaxMind-format City database and the key or variable it was named by.
    pub geoip_database: Option<(PathBuf, String)>,
}

/// Where detections and action results are sent.
#[derive(Debug, Default)]
pub(crate) struct OutputSettings {
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<SecretString>,
    pub jsonl_path: Option<PathBuf>,
    pub ecs: bool,
}

/// Every key: `section.key`, its default, and the short environment name if it has one.
const KEYS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("server.listen", Some("127.0.0.1:8080"), None),
    ("server.body_limit_bytes", Some("1048576"), None),
    ("server.max_concurrent_requests", Some("4096"), None),
    ("server.request_timeout_secs", Some("30"), None),
    ("server.secure_cookies", Some("false"), None),
    ("server.shutdown_timeout_secs", Some("30"), None),
    ("store.data_dir", Some("./var/gatehouse"), None),
    ("store.cache_capacity_bytes", Some("33554432"), None),
    ("store.url", None, Some("GATEHOUSE_STORE")),
    ("store.pool_size", Some("16"), None),
    ("ingest.inbox_max_backlog_mb", Some("2048"), None),
    ("actions.max_concurrent", Some("8"), None),
    ("actions.max_retry_after_secs", Some("300"), None),
    ("ingest.tenant_backlog_share_percent", Some("25"), None),
    ("log.format", Some("text"), None),
    ("log.level", Some("info"), None),
    (
        "security.operator_key",
        None,
        Some("GATEHOUSE_OPERATOR_KEY"),
    ),
    ("security.master_key", None, Some("GATEHOUSE_MASTER_KEY")),
    ("security.master_key_file", None, None),
    (
        "security.allow_custom_endpoints",
        Some("false"),
        Some("GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS"),
    ),
    ("geoip.database", None, None),
    ("outputs.webhook_url", None, None),
    ("outputs.webhook_secret", None, None),
    ("outputs.jsonl_path", None, None),
    ("outputs.format", Some("ocsf"), None),
];

/// `server.listen` → `GATEHOUSE_SERVER_LISTEN`
fn env_name(key: &str) -> String {
    format!("GATEHOUSE_{}", key.replace('.', "_").to_ascii_uppercase())
}

impl Config {
    /// Loads and validates everything; nothing is bound or opened yet.
    pub(crate) fn load(args: &ServeArgs, env: &dyn Source) -> Result<Self, ConfigError> {
        // (value, where it came from) per key
        let mut raw: BTreeMap<&str, (String, String)> = BTreeMap::new();
        for (key, default, _) in KEYS {
            if let Some(default) = default {
                raw.insert(key, ((*default).to_owned(), (*key).to_owned()));
            }
        }
        let config_path = args
            .config
            .clone()
            .or_else(|| env.get("GATEHOUSE_CONFIG").map(PathBuf::from));
        if let Some(path) = &config_path {
            for (key, value) in read_file(path)? {
                let known = KEYS
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .ok_or_else(|| err(&key, "unknown configuration key"))?;
                raw.insert(known.0, (value, key));
            }
        }
        for (key, _, short) in KEYS {
            let long = env_name(key);
            for name in [Some(long.as_str()), *short].into_iter().flatten() {
                if let Some(value) = env.get(name) {
                    raw.insert(key, (value, name.to_owned()));
                }
            }
        }
        if let Some(listen) = &args.listen {
            raw.insert("server.listen", (listen.clone(), "--listen".into()));
        }
        if let Some(dir) = &args.data_dir {
            raw.insert(
                "store.data_dir",
                (dir.to_string_lossy().into_owned(), "--data-dir".into()),
            );
        }
        if let Some(url) = &args.store {
            raw.insert("store.url", (url.clone(), "--store".into()));
        }
        if let Some(format) = &args.log_format {
            raw.insert("log.format", (format.clone(), "--log-format".into()));
        }
        Self::from_raw(&raw)
    }

    fn from_raw(raw: &BTreeMap<&str, (String, String)>) -> Result<Self, ConfigError> {
        let text = |key: &str| {
            raw.get(key)
                .map(|(v, from)| (v.trim().to_owned(), from.clone()))
        };
        let required = |key: &str| text(key).ok_or_else(|| err(key, "is required"));
        let number = |key: &str, min: u64, max: u64| -> Result<u64, ConfigError> {
            let (value, from) = required(key)?;
            value
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| err(from, format!("must be a whole number from {min} to {max}")))
        };
        let (listen, from) = required("server.listen")?;
        let listen = listen
            .parse::<SocketAddr>()
            .map_err(|_| err(from, "must be an address like 127.0.0.1:8080"))?;
        let (data_dir, from) = required("store.data_dir")?;
        if data_dir.is_empty() {
            return Err(err(from, "must not be empty"));
        }
        let store = match text("store.url") {
            None => StoreBackend::Sled,
            Some((url, _)) if url.is_empty() || url == "sled" => StoreBackend::Sled,
            Some((url, _))
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                StoreBackend::Postgres {
                    url: SecretString::from(url),
                    pool_size: usize::try_from(number("store.pool_size", 1, 1024)?).unwrap_or(16),
                }
            }
            // The value may hold a password: the error names only where it came from.
            Some((_, from)) => return Err(err(
                from,
                "must be a postgres:// (or postgresql://) URL, or absent for the embedded store",
            )),
        };
        let (format, from) = required("log.format")?;
        let log_format = match format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(err(from, "must be text or json")),
        };
        let (log_level, from) = required("log.level")?;
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(err(
                from,
                "must be a level (info, debug, …) or a tracing filter",
            ));
        }
        let (custom, from) = required("security.allow_custom_endpoints")?;
        let allow_custom_endpoints = match custom.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" | "" => false,
            _ => return Err(err(from, "must be true or false")),
        };
        let (secure, from) = required("server.secure_cookies")?;
        let secure_cookies = match secure.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" | "" => false,
            _ => return Err(err(from, "must be true or false")),
        };
        let operator_key = match text("security.operator_key") {
            Some((key, from)) if key.len() < 16 => {
                return Err(err(from, "must be at least 16 characters"));
            }
            Some((key, _)) => Some(SecretString::from(key)),
            None => None,
        };
        Ok(Self {
            listen,
            data_dir: PathBuf::from(data_dir),
            store,
            inbox_max_backlog_bytes: number("ingest.inbox_max_backlog_mb", 1, 1 << 20)? << 20,
            store_cache_capacity_bytes: number("store.cache_capacity_bytes", 1 << 20, 1 << 40)?,
            actions_max_concurrent: usize::try_from(number("actions.max_concurrent", 1, 256)?)
                .unwrap_or(1),
            actions_max_retry_after: Duration::from_secs(number(
                "actions.max_retry_after_secs",
                1,
                86_400,
            )?),
            inbox_tenant_share_percent: u8::try_from(number(
                "ingest.tenant_backlog_share_percent",
                1,
                100,
            )?)
            .unwrap_or(100),
            body_limit_bytes: usize::try_from(number("server.body_limit_bytes", 1024, 1 << 30)?)
                .unwrap_or(usize::MAX),
            max_concurrent_requests: usize::try_from(number(
                "server.max_concurrent_requests",
                16,
                1 << 20,
            )?)
            .unwrap_or(usize::MAX),
            request_timeout: Duration::from_secs(number("server.request_timeout_secs", 1, 3600)?),
            shutdown_timeout: Duration::from_secs(number("server.shutdown_timeout_secs", 1, 3600)?),
            log_format,
            log_level,
            operator_key,
            master_key: text("security.master_key")
                .filter(|(v, _)| !v.is_empty())
                .map(|(v, _)| SecretString::from(v)),
            master_key_file: text("security.master_key_file").map(|(v, _)| PathBuf::from(v)),
            allow_custom_endpoints,
            secure_cookies,
            outputs: outputs(&text)?,
            geoip_database: text("geoip.database")
                .filter(|(v, _)| !v.is_empty())
                .map(|(v, from)| (PathBuf::from(v), from)),
        })
    }

    /// `master.key` in the data dir unless configured elsewhere.
    pub(crate) fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The configured master key, or the key file to read (or create on first start).
    pub(crate) fn key_source(&self) -> Result<KeySource, ConfigError> {
        match &self.master_key {
            Some(key) => MasterKey::from_base64(key.expose_secret())
                .map(KeySource::Configured)
                .map_err(|message| err(MASTER_KEY_NAMES, message)),
            None => Ok(KeySource::File(self.master_key_path())),
        }
    }
}

fn outputs(text: &dyn Fn(&str) -> Option<(String, String)>) -> Result<OutputSettings, ConfigError> {
    let webhook_url = match text("outputs.webhook_url").filter(|(v, _)| !v.is_empty()) {
        Some((url, from)) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(err(from, "must be an http or https URL"));
            }
            Some(url)
        }
        None => None,
    };
    let ecs = match text("outputs.format") {
        Some((format, from)) => match format.as_str() {
            "ocsf" => false,
            "ecs" => true,
            _ => return Err(err(from, "must be ocsf or ecs")),
        },
        None => false,
    };
    Ok(OutputSettings {
        webhook_url,
        webhook_secret: text("outputs.webhook_secret")
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, _)| SecretString::from(v)),
        jsonl_path: text("outputs.jsonl_path")
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, _)| PathBuf::from(v)),
        ecs,
    })
}

/// Flattens a TOML file into `section.key → value` strings.
fn read_file(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(&shown, format!("cannot read config file: {e}")))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(&shown, format!("invalid TOML: {}", e.message())))?;
    let mut out = Vec::new();
    for (section, value) in table {
        let toml::Value::Table(entries) = value else {
            return Err(err(section, "must be a [section] table"));
        };
        for (key, value) in entries {
            let name = format!("{section}.{key}");
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(err(name, "must be a string, number or boolean")),
            };
            out.push((name, value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            config: None,
            listen: None,
            data_dir: None,
            store: None,
            log_format: None,
        }
    }

    fn load(args: &ServeArgs, env: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let env: BTreeMap<&'static str, &'static str> = env.iter().copied().collect();
        Config::load(args, &env)
    }

    #[test]
    fn defaults_need_no_config() {
        let config = load(&args(), &[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./var/gatehouse"));
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.body_limit_bytes, 1024 * 1024);
        assert_eq!(config.max_concurrent_requests, 4096);
        assert_eq!(config.store_cache_capacity_bytes, 32 * 1024 * 1024);
        assert!(!config.allow_custom_endpoints);
        assert_eq!(
            config.master_key_path(),
            PathBuf::from("./var/gatehouse/master.key")
        );
    }

    #[test]
    fn file_then_env_then_flags() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "[server]\nlisten = \"127.0.0.1:9000\"\nbody_limit_bytes = 2048\n[log]\nformat = \"json\"\n[security]\nallow_custom_endpoints = true"
        )
        .unwrap();
        let mut a = args();
        a.config = Some(file.path().to_owned());
        let config = load(&a, &[]).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.body_limit_bytes, 2048);
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config.allow_custom_endpoints);

        let config = load(
            &a,
            &[
                ("GATEHOUSE_SERVER_LISTEN", "127.0.0.1:9100"),
                ("GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS", "false"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert!(!config.allow_custom_endpoints);

        a.listen = Some("127.0.0.1:9200".into());
        let config = load(&a, &[("GATEHOUSE_SERVER_LISTEN", "127.0.0.1:9100")]).unwrap();
        assert_eq!(config.listen.port(), 9200);
    }

    #[test]
    fn the_store_is_sled_unless_a_postgres_url_is_given() {
        let mut a = args();
        assert!(matches!(load(&a, &[]).unwrap().store, StoreBackend::Sled));
        let url = "postgres://gatehouse:hunter2@db.internal/gatehouse";
        let from_env = load(&a, &[("GATEHOUSE_STORE", url)]).unwrap();
        match &from_env.store {
            StoreBackend::Postgres {
                url: got,
                pool_size,
            } => {
                assert_eq!(got.expose_secret(), url);
                assert_eq!(*pool_size, 16);
            }
            StoreBackend::Sled => panic!("GATEHOUSE_STORE was ignored"),
        }
        // The URL's password never shows in the config's Debug form.
        assert!(!format!("{from_env:?}").contains("hunter2"));
        a.store = Some("postgresql:///gatehouse?host=/run/pg".into());
        assert!(matches!(
            load(&a, &[("GATEHOUSE_STORE_POOL_SIZE", "4")])
                .unwrap()
                .store,
            StoreBackend::Postgres { pool_size: 4, .. }
        ));
        // Not a store URL: refused, and the error names the flag, not the value.
        a.store = Some("mysql://root:hunter2@db".into());
        let e = load(&a, &[]).unwrap_err();
        assert_eq!(e.key, "--store");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn secure_console_cookies_are_off_by_default_and_checked() {
        let a = args();
        assert!(!load(&a, &[]).unwrap().secure_cookies);
        let on = load(&a, &[("GATEHOUSE_SERVER_SECURE_COOKIES", "true")]).unwrap();
        assert!(on.secure_cookies);
        assert!(load(&a, &[("GATEHOUSE_SERVER_SECURE_COOKIES", "maybe")]).is_err());
    }

    #[test]
    fn the_store_cache_capacity_comes_from_the_file_or_the_environment() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[store]\ncache_capacity_bytes = 16777216").unwrap();
        let mut a = args();
        a.config = Some(file.path().to_owned());
        assert_eq!(load(&a, &[]).unwrap().store_cache_capacity_bytes, 16 << 20);
        let config = load(&a, &[("GATEHOUSE_STORE_CACHE_CAPACITY_BYTES", "33554432")]).unwrap();
        assert_eq!(config.store_cache_capacity_bytes, 32 << 20);
        let e = load(&args(), &[("GATEHOUSE_STORE_CACHE_CAPACITY_BYTES", "1000")]).unwrap_err();
        assert_eq!(e.key, "GATEHOUSE_STORE_CACHE_CAPACITY_BYTES");
    }

    #[test]
    fn short_env_names() {
        let config = load(
            &args(),
            &[
                ("GATEHOUSE_OPERATOR_KEY", "op-key-0123456789abcdef"),
                ("GATEHOUSE_MASTER_KEY", "abc"),
            ],
        )
        .unwrap();
        assert_eq!(
            config.operator_key.unwrap().expose_secret(),
            "op-key-0123456789abcdef"
        );
        assert_eq!(config.master_key.unwrap().expose_secret(), "abc");
    }

    #[test]
    fn errors_name_the_key() {
        let e = load(&args(), &[("GATEHOUSE_SERVER_LISTEN", "not an address")]).unwrap_err();
        assert_eq!(e.key, "GATEHOUSE_SERVER_LISTEN");
        let e = load(&args(), &[("GATEHOUSE_SERVER_BODY_LIMIT_BYTES", "-1")]).unwrap_err();
        assert_eq!(e.key, "GATEHOUSE_SERVER_BODY_LIMIT_BYTES");
        let e = load(&args(), &[("GATEHOUSE_OPERATOR_KEY", "short")]).unwrap_err();
        assert_eq!(e.key, "GATEHOUSE_OPERATOR_KEY");
        assert!(
            !e.to_string().contains("short"),
            "errors never echo a secret"
        );

        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3").unwrap();
        let mut a = args();
        a.config = Some(file.path().to_owned());
        let e = load(&a, &[]).unwrap_err();
        assert_eq!(e.key, "server.lisen");

        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[log]\nformat = \"xml\"").unwrap();
        a.config = Some(file.path().to_owned());
        assert_eq!(load(&a, &[]).unwrap_err().key, "log.format");

        a.config = Some(PathBuf::from("/nonexistent/gatehouse.toml"));
        assert!(load(&a, &[]).unwrap_err().key.contains("gatehouse.toml"));
    }
}
