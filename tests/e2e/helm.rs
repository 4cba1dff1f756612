//! The Helm chart (deploy/helm/gatehouse) against what it deploys: the daemon's documented
//! settings and the image built by deploy/Dockerfile. No helm binary is needed; rendering and
//! `helm lint` are described in docs/DEPLOYMENT.md.
//!
//! The daemon refuses unknown keys in gatehouse.toml but ignores unknown `GATEHOUSE_*`
//! variables, so a renamed setting would make the chart's pods crash-loop (a file key) or be
//! silently unconfigured (a variable): these checks catch both before a cluster does.

use std::collections::BTreeSet;
use std::path::PathBuf;

const CHART: &str = "deploy/helm/gatehouse";

fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn repo_file(path: &str) -> anyhow::Result<String> {
    let path = repo_root().join(path);
    std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The chart's templates, helpers and values: every file that can name a variable or a path.
fn chart_sources() -> anyhow::Result<Vec<(String, String)>> {
    let mut files = vec![format!("{CHART}/values.yaml")];
    let mut dirs = vec![repo_root().join(CHART).join("templates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(relative) = path.strip_prefix(repo_root()) {
                files.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|f| repo_file(&f).map(|text| (f, text)))
        .collect()
}

/// `section.key` of every row of the Keys table in docs/CONFIGURATION.md.
fn documented_keys(doc: &str) -> BTreeSet<String> {
    doc.split("\n## ")
        .find(|section| section.starts_with("Keys"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|key| key.contains('.'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn chart_sets_only_documented_environment_variables() -> anyhow::Result<()> {
    let doc = repo_file("docs/CONFIGURATION.md")?;
    let mut seen = BTreeSet::new();
    for (file, text) in chart_sources()? {
        for (at, _) in text.match_indices("GATEHOUSE_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            // `GATEHOUSE_*` in prose names no variable.
            if name.ends_with('_') {
                continue;
            }
            assert!(
                doc.contains(&format!("`{name}`")),
                "{file} names {name}, which docs/CONFIGURATION.md does not list: the daemon \
                 ignores variables it does not know, so the setting would silently not apply"
            );
            seen.insert(name);
        }
    }
    // What the chart must set for the pods to work at all.
    for name in [
        "GATEHOUSE_SERVER_LISTEN",
        "GATEHOUSE_STORE_DATA_DIR",
        "GATEHOUSE_STORE",
        "GATEHOUSE_MASTER_KEY",
        "GATEHOUSE_OPERATOR_KEY",
    ] {
        assert!(seen.contains(name), "the chart never sets {name}");
    }
    Ok(())
}

#[test]
fn chart_config_keys_are_the_documented_keys() -> anyhow::Result<()> {
    let documented = documented_keys(&repo_file("docs/CONFIGURATION.md")?);
    assert!(
        documented.len() > 20 && documented.contains("server.listen"),
        "the Keys table of docs/CONFIGURATION.md was not found: {documented:?}"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&repo_file(&format!("{CHART}/values.schema.json"))?)?;
    let config = &schema["properties"]["config"];
    assert_eq!(
        config["additionalProperties"],
        serde_json::Value::Bool(false),
        "the schema must refuse unknown sections (the daemon refuses unknown keys)"
    );
    let mut in_schema = BTreeSet::new();
    for (section, body) in config["properties"]
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("values.schema.json has no config properties"))?
    {
        assert_eq!(
            body["additionalProperties"],
            serde_json::Value::Bool(false),
            "config.{section} must refuse unknown keys"
        );
        for key in body["properties"]
            .as_object()
            .ok_or_else(|| anyhow::anyhow!("config.{section} has no properties"))?
            .keys()
        {
            in_schema.insert(format!("{section}.{key}"));
        }
    }
    let unknown: Vec<_> = in_schema.difference(&documented).collect();
    assert!(
        unknown.is_empty(),
        "values.schema.json accepts config keys the daemon does not document (it would refuse \
         them at start): {unknown:?}"
    );
    let missing: Vec<_> = documented.difference(&in_schema).collect();
    assert!(
        missing.is_empty(),
        "docs/CONFIGURATION.md documents keys that the chart's values.schema.json refuses \
         (add them under config): {missing:?}"
    );
    // Keys the chart sets itself or takes from Secrets are refused, with the reason, by the
    // chart's validation rather than written into the ConfigMap.
    let helpers = repo_file(&format!("{CHART}/templates/_helpers.tpl"))?;
    for key in [
        "server.listen",
        "store.data_dir",
        "store.url",
        "security.master_key",
        "security.operator_key",
        "outputs.webhook_secret",
    ] {
        assert!(
            helpers.contains(&format!("\"{key}\" \"")),
            "_helpers.tpl must refuse config.{key}"
        );
    }
    Ok(())
}

#[test]
fn chart_runs_the_image_as_built() -> anyhow::Result<()> {
    let dockerfile = repo_file("deploy/Dockerfile")?;
    let directive = |name: &str| {
        dockerfile
            .lines()
            .filter_map(|l| l.trim().strip_prefix(name))
            .next_back()
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let user = directive("USER ");
    let (uid, gid) = user.split_once(':').unwrap_or((&user, &user));
    let values = repo_file(&format!("{CHART}/values.yaml"))?;
    for (field, id) in [("runAsUser", uid), ("runAsGroup", gid), ("fsGroup", gid)] {
        assert!(
            values.contains(&format!("{field}: {id}\n")),
            "values.yaml must default {field} to the image's USER {user}"
        );
    }
    assert!(values.contains("readOnlyRootFilesystem: true"));
    assert!(values.contains("runAsNonRoot: true"));

    let helpers = repo_file(&format!("{CHART}/templates/_helpers.tpl"))?;
    let defined = |name: &str| {
        helpers
            .split(&format!("define \"gatehouse.{name}\" -}}}}"))
            .nth(1)
            .and_then(|rest| rest.split("{{").next())
            .unwrap_or_default()
            .to_owned()
    };
    let data_dir = defined("dataDir");
    assert!(
        directive("VOLUME ").contains(&format!("\"{data_dir}\"")),
        "the chart's data directory {data_dir:?} must be the image's VOLUME"
    );
    let config_file = format!("{}/gatehouse.toml", defined("configDir"));
    assert!(
        directive("ENTRYPOINT ").contains(&format!("\"--config\", \"{config_file}\"")),
        "the chart mounts gatehouse.toml at {config_file}; the image's ENTRYPOINT reads another"
    );

    // The probes' routes exist (docs/openapi.json is kept in step with the router).
    let openapi: serde_json::Value = serde_json::from_str(&repo_file("docs/openapi.json")?)?;
    for route in ["/healthz", "/readyz"] {
        assert!(
            helpers.contains(&format!("\"path\" \"{route}\"")),
            "the chart must probe {route}"
        );
        assert!(
            openapi["paths"].get(route).is_some(),
            "the daemon serves no {route}"
        );
    }
    Ok(())
}
