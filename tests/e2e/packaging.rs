//! What ships around the binary: the Makefile and deploy scripts find the binaries wherever cargo
//! builds them (a shared `CARGO_TARGET_DIR` is common), and the container image runs as a numeric
//! user with a health check that needs no curl.

use std::path::PathBuf;

fn repo_file(path: &str) -> anyhow::Result<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = root.parent().map(PathBuf::from).unwrap_or(root);
    Ok(std::fs::read_to_string(root.join(path))?)
}

#[test]
fn make_targets_and_scripts_use_cargos_target_dir() -> anyhow::Result<()> {
    for path in ["Makefile", "deploy/demo.sh", "deploy/conformance.sh"] {
        let text = repo_file(path)?;
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("target/release/"),
                "{path}:{}: `{line}` assumes ./target; with CARGO_TARGET_DIR set the binary is \
                 elsewhere (use cargo run, or cargo metadata's target_directory)",
                n + 1
            );
        }
    }
    let makefile = repo_file("Makefile")?;
    assert!(makefile.contains("target_directory"), "{makefile}");
    Ok(())
}

#[test]
fn image_runs_as_a_numeric_user_with_a_binary_health_check() -> anyhow::Result<()> {
    let dockerfile = repo_file("deploy/Dockerfile")?;
    let user = dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("USER "))
        .next_back()
        .unwrap_or_default();
    assert!(
        !user.is_empty()
            && user
                .split(':')
                .all(|p| p.parse::<u32>().is_ok_and(|id| id > 0)),
        "USER must be numeric and not root, got {user:?}"
    );
    let healthcheck = dockerfile
        .split("HEALTHCHECK")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take(3)
        .collect::<String>();
    assert!(
        healthcheck.contains("gatehouse\", \"healthcheck\""),
        "HEALTHCHECK must run `gatehouse healthcheck`: {healthcheck}"
    );
    assert!(!healthcheck.contains("curl"));
    Ok(())
}
