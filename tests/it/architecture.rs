//! ARCHITECTURE.md's "What may depend on what", checked on the workspace's `cargo metadata`:
//! a crate that depends on what the architecture forbids fails this test, naming the path of
//! dependencies that leads there.
//!
//! - `tillbook-orderbook`: nothing async, HTTP or Tauri anywhere in its normal dependencies
//!   (direct or not; dev-dependencies do not count), and of our crates only the protocol.
//! - `tillbook-server`: never the order book, directly or through another crate.
//! - `tillbook-cli` and the app (`tillbook-app`, `src-tauri/`): no SQL crate among their own
//!   dependencies (they reach the book through `Book`, never SQL). Once `src-tauri/Cargo.toml`
//!   exists the app must be a workspace member, so this test sees it.
//! - `tillbook-protocol` depends on none of our crates; `tillbook-sync` on the order book and
//!   the protocol only.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

const ORDERBOOK: &str = "tillbook-orderbook";
const SERVER: &str = "tillbook-server";
const CLI: &str = "tillbook-cli";
const APP: &str = "tillbook-app";
const PROTOCOL: &str = "tillbook-protocol";
const RECEIPT: &str = "tillbook-receipt";
const SYNC: &str = "tillbook-sync";

/// Crates the order book may not reach: async runtimes, HTTP, Tauri and its webview. A name
/// matches itself and its family (`tokio-util`, `hyper-util`, `tauri-build`…). `futures` is
/// the facade only: `futures-core`/`-util` are in the closure through rusqlite's wasm32
/// backend (`sqlite-wasm-rs`), a target-specific dependency never built here.
const ASYNC_HTTP_TAURI: [&str; 9] = ["tokio", "async-std", "reqwest", "hyper", "axum", "http", "tauri", "wry", "tao"];
const ASYNC_EXACT: [&str; 1] = ["futures"];

/// SQL crates the CLI and the app may not depend on directly.
const SQL: [&str; 6] = ["rusqlite", "rusqlite_migration", "libsqlite3-sys", "tokio-postgres", "sqlx", "postgres"];

fn is_async_http_tauri(name: &str) -> bool {
    ASYNC_EXACT.contains(&name)
        || ASYNC_HTTP_TAURI.iter().any(|f| name == *f || name.strip_prefix(f).is_some_and(|rest| rest.starts_with('-')))
}

/// A dependency: the package id and its kinds (`None`: normal; `dev`; `build`).
type Dep = (String, Vec<Option<String>>);

/// The dependency graph of `cargo metadata`: package names by id, and each package's
/// dependencies.
struct Graph {
    names: BTreeMap<String, String>,
    edges: BTreeMap<String, Vec<Dep>>,
    members: BTreeMap<String, String>,
}

impl Graph {
    fn new(meta: &Value) -> Graph {
        let mut names = BTreeMap::new();
        for p in meta["packages"].as_array().expect("metadata has packages") {
            names.insert(p["id"].as_str().unwrap().to_string(), p["name"].as_str().unwrap().to_string());
        }
        let mut edges = BTreeMap::new();
        for n in meta["resolve"]["nodes"].as_array().expect("metadata has a resolve graph (not --no-deps)") {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let kinds = d["dep_kinds"].as_array().unwrap().iter().map(|k| k["kind"].as_str().map(str::to_string)).collect();
                    (d["pkg"].as_str().unwrap().to_string(), kinds)
                })
                .collect();
            edges.insert(n["id"].as_str().unwrap().to_string(), deps);
        }
        let members = meta["workspace_members"]
            .as_array()
            .expect("metadata has workspace members")
            .iter()
            .map(|id| {
                let id = id.as_str().unwrap().to_string();
                (names[&id].clone(), id)
            })
            .collect();
        Graph { names, edges, members }
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map(String::as_str).unwrap_or(id)
    }

    /// Normal (not dev, not build) dependencies of `id`.
    fn normal(&self, id: &str) -> Vec<&str> {
        self.edges
            .get(id)
            .map(|deps| deps.iter().filter(|(_, kinds)| kinds.iter().any(Option::is_none)).map(|(d, _)| d.as_str()).collect())
            .unwrap_or_default()
    }

    /// Normal and build dependencies of `id` (what it is built with; not its tests).
    fn non_dev(&self, id: &str) -> Vec<&str> {
        self.edges
            .get(id)
            .map(|deps| {
                deps.iter().filter(|(_, kinds)| kinds.iter().any(|k| k.as_deref() != Some("dev"))).map(|(d, _)| d.as_str()).collect()
            })
            .unwrap_or_default()
    }

    /// Every package `from` reaches through normal dependencies that `bad` names, each with the
    /// path that leads there (`a → b → c`), shortest first.
    fn reaches(&self, from: &str, bad: impl Fn(&str) -> bool) -> Vec<String> {
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut seen = BTreeSet::from([from]);
        let mut queue = VecDeque::from([from]);
        let mut found = Vec::new();
        while let Some(id) = queue.pop_front() {
            for dep in self.normal(id) {
                if !seen.insert(dep) {
                    continue;
                }
                parent.insert(dep, id);
                if bad(self.name(dep)) {
                    let mut path = vec![self.name(dep)];
                    let mut at = dep;
                    while let Some(p) = parent.get(at) {
                        path.push(self.name(p));
                        at = p;
                    }
                    path.reverse();
                    found.push(path.join(" → "));
                }
                queue.push_back(dep);
            }
        }
        found
    }
}

/// What ARCHITECTURE.md forbids that `meta` (the JSON of `cargo metadata --format-version 1`)
/// shows, one line per offending edge. `app_manifest`: `src-tauri/Cargo.toml` exists.
fn violations(meta: &Value, app_manifest: bool) -> Vec<String> {
    let g = Graph::new(meta);
    let mut out = Vec::new();
    let member = |name: &str, out: &mut Vec<String>| -> Option<String> {
        let id = g.members.get(name).cloned();
        if id.is_none() {
            out.push(format!("{name} is not a workspace member: this test cannot check it"));
        }
        id
    };
    let ours: BTreeSet<&str> = g.members.values().map(String::as_str).collect();
    let ours_named = |id: &str| ours.contains(id);

    if let Some(id) = member(ORDERBOOK, &mut out) {
        for path in g.reaches(&id, is_async_http_tauri) {
            out.push(format!("{path}: the order book depends on nothing async, HTTP or Tauri"));
        }
        for dep in g.non_dev(&id).into_iter().filter(|d| ours_named(d) && g.name(d) != PROTOCOL) {
            out.push(format!("{ORDERBOOK} → {}: the order book depends on the protocol only", g.name(dep)));
        }
    }
    if let Some(id) = member(SERVER, &mut out) {
        for path in g.reaches(&id, |n| n == ORDERBOOK) {
            out.push(format!("{path}: the server never links the order book"));
        }
    }
    let app = if app_manifest { member(APP, &mut out).map(|id| (APP, id)) } else { g.members.get(APP).map(|id| (APP, id.clone())) };
    for (name, id) in member(CLI, &mut out).map(|id| (CLI, id)).into_iter().chain(app) {
        for dep in g.normal(&id).into_iter().filter(|d| SQL.contains(&g.name(d))) {
            out.push(format!("{name} → {}: the CLI and the app never touch SQL (they go through `Book`)", g.name(dep)));
        }
    }
    if let Some(id) = member(PROTOCOL, &mut out) {
        for dep in g.non_dev(&id).into_iter().filter(|d| ours_named(d)) {
            out.push(format!("{PROTOCOL} → {}: the protocol depends on none of our crates", g.name(dep)));
        }
    }
    if let Some(id) = member(SYNC, &mut out) {
        for dep in g.non_dev(&id).into_iter().filter(|d| ours_named(d) && ![ORDERBOOK, PROTOCOL].contains(&g.name(d))) {
            out.push(format!("{SYNC} → {}: the sync client depends on the order book and the protocol only", g.name(dep)));
        }
    }
    out
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

fn cargo_metadata(root: &Path) -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap_or_else(|e| panic!("run {cargo:?} metadata: {e}"));
    assert!(out.status.success(), "cargo metadata failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn crates_depend_only_on_what_the_architecture_allows() {
    let root = workspace_root();
    let meta = cargo_metadata(&root);
    let bad = violations(&meta, root.join("src-tauri/Cargo.toml").is_file());
    assert!(bad.is_empty(), "dependencies ARCHITECTURE.md (\"What may depend on what\") forbids:\n{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The checker itself, on doctored metadata
// ---------------------------------------------------------------------------------------------

/// A small workspace as `cargo metadata` shows it, laid out as ARCHITECTURE.md allows, with a
/// few outside crates; `app` adds `tillbook-app`.
fn sample(app: bool) -> Value {
    let mut members = vec![PROTOCOL, ORDERBOOK, SYNC, CLI, RECEIPT, SERVER];
    if app {
        members.push(APP);
    }
    let outside = ["serde", "rusqlite", "tokio", "tokio-util", "reqwest", "axum", "futures-util", "tauri", "escpos"];
    let id = |n: &str| format!("id#{n}");
    let packages: Vec<Value> = members.iter().chain(outside.iter()).map(|n| json!({"id": id(n), "name": n})).collect();
    let normal = json!([{"kind": null, "target": null}]);
    let dev = json!([{"kind": "dev", "target": null}]);
    let deps = |list: &[(&str, &Value)]| -> Value {
        list.iter().map(|(n, k)| json!({"name": n.replace('-', "_"), "pkg": id(n), "dep_kinds": k})).collect()
    };
    let mut nodes = vec![
        json!({"id": id(PROTOCOL), "deps": deps(&[("serde", &normal)])}),
        json!({"id": id(ORDERBOOK), "deps": deps(&[(PROTOCOL, &normal), ("rusqlite", &normal), ("tokio", &dev)])}),
        json!({"id": id(SYNC), "deps": deps(&[(ORDERBOOK, &normal), (PROTOCOL, &normal), ("reqwest", &normal), ("tokio", &normal)])}),
        json!({"id": id(CLI), "deps": deps(&[(ORDERBOOK, &normal), (SYNC, &normal), (RECEIPT, &normal), ("rusqlite", &dev)])}),
        json!({"id": id(RECEIPT), "deps": deps(&[(PROTOCOL, &normal), ("escpos", &normal)])}),
        json!({"id": id(SERVER), "deps": deps(&[(PROTOCOL, &normal), ("axum", &normal), ("tokio", &normal), ("rusqlite", &normal)])}),
        json!({"id": id("serde"), "deps": []}),
        json!({"id": id("rusqlite"), "deps": deps(&[("futures-util", &normal)])}),
        json!({"id": id("tokio"), "deps": []}),
        json!({"id": id("tokio-util"), "deps": deps(&[("tokio", &normal)])}),
        json!({"id": id("reqwest"), "deps": deps(&[("tokio", &normal)])}),
        json!({"id": id("axum"), "deps": deps(&[("tokio", &normal)])}),
        json!({"id": id("futures-util"), "deps": []}),
        json!({"id": id("tauri"), "deps": deps(&[("tokio", &normal)])}),
        json!({"id": id("escpos"), "deps": []}),
    ];
    if app {
        nodes.push(json!({"id": id(APP), "deps": deps(&[(ORDERBOOK, &normal), (SYNC, &normal), ("tauri", &normal)])}));
    }
    json!({
        "packages": packages,
        "workspace_members": members.iter().map(|n| id(n)).collect::<Vec<_>>(),
        "resolve": {"nodes": nodes},
    })
}

/// Adds `from → to` (kind `kind`: `None` is a normal dependency) to doctored metadata.
fn add_dep(meta: &mut Value, from: &str, to: &str, kind: Option<&str>) {
    let to_id = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == to)
        .map(|p| p["id"].clone())
        .unwrap_or_else(|| panic!("no package {to}"));
    let from_id = meta["packages"].as_array().unwrap().iter().find(|p| p["name"] == from).unwrap()["id"].clone();
    let node = meta["resolve"]["nodes"].as_array_mut().unwrap().iter_mut().find(|n| n["id"] == from_id).unwrap();
    node["deps"].as_array_mut().unwrap().push(json!({"name": to, "pkg": to_id, "dep_kinds": [{"kind": kind, "target": null}]}));
}

#[test]
fn the_checker_accepts_the_allowed_layout() {
    assert_eq!(violations(&sample(false), false), Vec::<String>::new());
    assert_eq!(violations(&sample(true), true), Vec::<String>::new());
}

#[test]
fn the_checker_names_each_forbidden_edge() {
    let one = |from: &str, to: &str, kind: Option<&str>, app: bool| {
        let mut m = sample(app);
        add_dep(&mut m, from, to, kind);
        violations(&m, app)
    };
    // The order book on something async, directly or through another crate.
    let v = one(ORDERBOOK, "reqwest", None, false);
    assert!(v.iter().any(|l| l.starts_with("tillbook-orderbook → reqwest:")), "{v:?}");
    let v = one(PROTOCOL, "tokio-util", None, false);
    assert!(v.iter().any(|l| l.starts_with("tillbook-orderbook → tillbook-protocol → tokio-util:")), "{v:?}");
    assert!(one(ORDERBOOK, "tauri", None, false).iter().any(|l| l.starts_with("tillbook-orderbook → tauri:")));
    // …but a dev-dependency is the tests' business.
    assert_eq!(one(ORDERBOOK, "reqwest", Some("dev"), false), Vec::<String>::new());
    // The server on the order book, through the sync client.
    let v = one(SERVER, SYNC, None, false);
    assert!(v.iter().any(|l| l.starts_with("tillbook-server → tillbook-sync → tillbook-orderbook:")), "{v:?}");
    // The CLI and the app on SQL.
    let v = one(CLI, "rusqlite", None, false);
    assert_eq!(v, vec!["tillbook-cli → rusqlite: the CLI and the app never touch SQL (they go through `Book`)".to_string()]);
    assert!(one(APP, "rusqlite", None, true).iter().any(|l| l.starts_with("tillbook-app → rusqlite:")));
    // The protocol on one of ours.
    let v = one(PROTOCOL, RECEIPT, None, false);
    assert!(v.iter().any(|l| l.starts_with("tillbook-protocol → tillbook-receipt:")), "{v:?}");
    let v = one(SYNC, CLI, None, false);
    assert!(v.iter().any(|l| l.starts_with("tillbook-sync → tillbook-cli:")), "{v:?}");
}

#[test]
fn the_checker_wants_the_app_in_the_workspace_once_it_exists() {
    let v = violations(&sample(false), true);
    assert_eq!(v, vec![format!("{APP} is not a workspace member: this test cannot check it")]);
}

/// The same checker on this workspace's real metadata, doctored with forbidden edges.
#[test]
fn the_checker_catches_forbidden_edges_in_this_workspaces_metadata() {
    let mut meta = cargo_metadata(&workspace_root());
    add_dep(&mut meta, ORDERBOOK, "tokio", None);
    add_dep(&mut meta, CLI, "rusqlite", None);
    add_dep(&mut meta, SERVER, SYNC, None);
    add_dep(&mut meta, PROTOCOL, ORDERBOOK, Some("build"));
    let v = violations(&meta, true);
    for want in [
        "tillbook-orderbook → tokio:",
        "tillbook-cli → rusqlite:",
        "tillbook-server → tillbook-sync → tillbook-orderbook:",
        "tillbook-protocol → tillbook-orderbook:",
    ] {
        assert!(v.iter().any(|l| l.starts_with(want)), "{want} not reported: {v:#?}");
    }
}
