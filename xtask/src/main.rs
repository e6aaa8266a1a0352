//! `cargo xtask`: the project's own automation, in Rust so it runs wherever cargo does.
//!
//! Subcommands:
//! - `check-deps`: the checkable invariants of `ARCHITECTURE.md`. `concerta-core` and
//!   `concerta-sync` must not depend on a runtime, web or SQL crate (read off `cargo tree`), and
//!   no `#[ignore]`, `todo!(` or `unimplemented!(` may sit in the sources under `crates/`,
//!   `migrations/` or `tests/`.
//! - `ci`: the test command of the README: check-deps, build everything (and `samod-client`
//!   from `bench/samod` for the e2e tests), find Postgres, install the JS test client, run every
//!   test. `.ci/run` ends in it.
//! - `run`: `cargo run -p concerta-server -- serve` with the extra arguments passed through.
//! - `bench [--quick] [--servers LIST] [--no-pin]`: builds Concerta, samod-server and the load
//!   generator (`bench/loadgen`) in release mode, installs `bench/js` if needed, and runs the
//!   side-by-side sync benchmark; it writes `bench/RESULTS.md` (see `bench/README.md`).
//!
//! Arguments are parsed by hand and tools are run with `std::process::Command`, so this crate
//! depends on `anyhow` only and builds in seconds.

use std::collections::BTreeSet;
use std::env;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod web;

/// Crates that must stay free of IO: the pure domain, the sans-IO sync engine, the content
/// crate (rich text, exports, diffs) and the evaluation rules.
const PURE_CRATES: &[&str] =
    &["concerta-core", "concerta-sync", "concerta-content", "concerta-evaluation", "concerta-roundtable"];

/// Crate families a pure crate must not depend on: the crate itself and every `<name>-*`
/// companion (`tokio-macros`, `sqlx-core`, `tower-service`, `sea-orm-macros`…).
const FORBIDDEN_DEPS: &[&str] = &[
    "tokio",
    "axum",
    "sea-orm",
    "sea-query",
    "sqlx",
    "lettre",
    "hyper",
    "tower",
];

/// Folders whose `.rs` files are scanned for markers of unfinished or skipped work.
const SCANNED_DIRS: &[&str] = &["crates", "migrations", "tests"];

/// Folders never scanned: build output, npm packages, hidden folders.
const SKIPPED_DIR_NAMES: &[&str] = &["target", "node_modules"];

/// Where the local Postgres of a development or CI machine listens.
const LOCAL_POSTGRES_ADDR: &str = "127.0.0.1:5432";
const LOCAL_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  check-deps      fail if concerta-core, concerta-sync or concerta-content depend on a runtime, web or SQL crate,
                  or if #[ignore], todo!( or unimplemented!( appear under crates/ migrations/ tests/
  ci              the full test run: check-deps, the web app (build, unit tests), build (with
                  samod-client), Postgres, npm ci, cargo test, browser tests (chromium)
  run [ARGS...]   builds the web app (web/: npm ci + vite build when needed), then
                  cargo run --release -p concerta-server -- serve --demo ARGS...
                  (the demo city is loaded into an empty data directory)
  web             builds the web app into web/dist when its sources changed
  bench-web [--quick]
                  the browser benchmark: keystroke → other browser p50/p99 and open →
                  editable on sections of 100, 2,000 and 20,000 changes, and the app's
                  JavaScript gzipped; writes its block of bench/RESULTS.md (~10 min)
  bench [--quick] [--servers concerta,npm,repo2,samod] [--no-pin] [--keep]
                  release builds, then the same load against Concerta, the npm JS sync
                  server, automerge-repo 2.x and samod; writes bench/RESULTS.md (~25 min;
                  --quick: a few minutes), keeping the other benchmarks' blocks
  bench --jsloop [--quick] [--servers …] [--coalesce MS,MS] [--no-pin]
                  the official JS client (automerge-repo 2.5) in closed loops, 1 × 10 × 100
                  and 20 × 3 × 50 (sections × clients × edits), against the same servers
                  (Concerta at each relay coalescing window, default 0,50: off and its
                  default); writes its block of
                  bench/RESULTS.md (~20 min)
  bench --upload [--servers concerta,samod] [--no-pin]
                  the server's memory while one client writes a 20,000-change history into
                  a fresh section, one sync message per change, and after it leaves; against
                  Concerta and samod by default; writes its block of bench/RESULTS.md (~5 min)
  bench-mail [--postgres]
                  1,000 account invitations, then 1,000 roundtable invitations (with their
                  calendar parts), through a release server to a local SMTP sink (aiosmtpd):
                  API time to enqueue, time until all delivered, messages/s;
                  writes its block of bench/RESULTS.md (a few minutes plus the release build)
  bench-logins    1,000 concurrent wrong logins through a release server, with the shipped
                  throttling and without it: whether it keeps answering, its peak memory;
                  writes its block of bench/RESULTS.md
  help            this text

environment read by `ci`:
  DATABASE_URL_TEST   Postgres for the Postgres half of the database tests
                      (default: postgres://postgres@127.0.0.1:5432/postgres when reachable)
  CI                  when true, an unreachable Postgres fails the run instead of skipping
  CARGO_TARGET_DIR    respected; the e2e tests get CONCERTA_BIN=<target>/debug/concerta and
                      SAMOD_CLIENT=<target>/samod/debug/samod-client (bench/samod, built by ci)";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    let root = workspace_root();
    match command.as_str() {
        "check-deps" => {
            no_extra_args(command, rest)?;
            check_deps(&root)?;
            println!("check-deps: ok");
            Ok(ExitCode::SUCCESS)
        }
        "ci" => {
            no_extra_args(command, rest)?;
            ci(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        "run" => run_server(&root, rest),
        "web" => {
            no_extra_args(command, rest)?;
            web::build(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        "bench-web" => {
            web::bench(&root, &target_dir(&root)?, rest)?;
            Ok(ExitCode::SUCCESS)
        }
        "bench" => bench(&root, rest),
        "bench-mail" => {
            bench_mail(&root, rest)?;
            Ok(ExitCode::SUCCESS)
        }
        "bench-logins" => {
            bench_logins(&root, rest)?;
            Ok(ExitCode::SUCCESS)
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => {
            eprintln!("unknown command `{other}`\n\n{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}

fn no_extra_args(command: &str, rest: &[String]) -> Result<()> {
    if let Some(extra) = rest.first() {
        bail!("`cargo xtask {command}` takes no arguments (got `{extra}`)");
    }
    Ok(())
}

/// The workspace root: the parent of this crate's folder. `cargo run` sets
/// `CARGO_MANIFEST_DIR` at run time too; the compile-time value is the fallback.
fn workspace_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// The cargo that runs us (`cargo run` sets `CARGO`), else the one on `PATH`.
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
    cmd.current_dir(root);
    cmd
}

/// Runs `cmd` with inherited stdio and fails with the command line if it fails.
fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; fails with its stderr.
fn output(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed non-UTF-8"))
}

fn show(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// check-deps

fn check_deps(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for krate in PURE_CRATES {
        let tree = output(cargo(root).args([
            "tree",
            "--package",
            krate,
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--target",
            "all",
        ]))
        .with_context(|| format!("could not read the dependency tree of {krate}"))?;
        for (name, version) in forbidden_in_tree(&tree) {
            problems.push(format!(
                "{krate} depends on {name} {version}, a runtime/web/SQL crate it must not use \
                 (see `cargo tree -p {krate} -e normal -i {name}`)"
            ));
        }
    }
    for hit in scan_markers(root)? {
        problems.push(hit);
    }
    if !problems.is_empty() {
        bail!(
            "{} invariant violation(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// The forbidden crates in the output of `cargo tree --prefix none`, each once, by name.
fn forbidden_in_tree(tree: &str) -> BTreeSet<(String, String)> {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next().unwrap_or("");
            is_forbidden(name).then(|| (name.to_owned(), version.to_owned()))
        })
        .collect()
}

fn is_forbidden(name: &str) -> bool {
    FORBIDDEN_DEPS.iter().any(|family| {
        name == *family
            || name
                .strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'))
    })
}

/// Markers of skipped or unfinished work, spelled in pieces so this file never matches them.
fn markers() -> [String; 3] {
    [
        format!("#[{}", "ignore"),
        format!("{}!(", "todo"),
        format!("{}!(", "unimplemented"),
    ]
}

/// Every `path:line` under [`SCANNED_DIRS`] that holds one of [`markers`].
fn scan_markers(root: &Path) -> Result<Vec<String>> {
    let markers = markers();
    let xtask_dir = root.join("xtask");
    let mut files = Vec::new();
    for dir in SCANNED_DIRS {
        collect_rs_files(&root.join(dir), &xtask_dir, &mut files)?;
    }
    files.sort();
    let mut hits = Vec::new();
    for file in files {
        let bytes = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (index, line) in text.lines().enumerate() {
            for marker in &markers {
                if line.contains(marker.as_str()) {
                    hits.push(format!(
                        "{shown}:{}: `{marker}` is not allowed (STYLE.md: no skipped tests, no \
                         placeholders)",
                        index + 1
                    ));
                }
            }
        }
    }
    Ok(hits)
}

fn collect_rs_files(dir: &Path, exclude: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("listing {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if name.starts_with('.')
                || SKIPPED_DIR_NAMES.contains(&name.as_ref())
                || path == exclude
            {
                continue;
            }
            collect_rs_files(&path, exclude, out)?;
        } else if file_type.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ci

struct Steps {
    total: usize,
    done: usize,
    started: Instant,
}

impl Steps {
    fn new(total: usize) -> Self {
        Steps {
            total,
            done: 0,
            started: Instant::now(),
        }
    }

    /// Runs one step between banners; on failure names the step and the time spent.
    fn step<T>(&mut self, name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
        self.done += 1;
        let (n, total) = (self.done, self.total);
        println!("\n==> [{n}/{total}] {name}");
        let started = Instant::now();
        match body() {
            Ok(value) => {
                println!(
                    "==> [{n}/{total}] {name}: ok in {}",
                    elapsed(started.elapsed())
                );
                Ok(value)
            }
            Err(err) => {
                println!(
                    "==> [{n}/{total}] {name}: FAILED after {} (ci total {})",
                    elapsed(started.elapsed()),
                    elapsed(self.started.elapsed())
                );
                Err(err.context(format!("ci step {n}/{total} ({name}) failed")))
            }
        }
    }
}

fn elapsed(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

fn ci(root: &Path) -> Result<()> {
    let mut steps = Steps::new(10);
    let in_ci = env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");

    steps.step("check-deps: boundaries and markers", || check_deps(root))?;

    steps.step("web: npm ci, vite build, lint and unit tests (web/)", || {
        web::build(root)?;
        web::unit_tests(root)
    })?;

    let bin = steps.step("build: cargo build --workspace --all-targets", || {
        run(cargo(root).args(["build", "--workspace", "--all-targets"]))?;
        let bin = target_dir(root)?
            .join("debug")
            .join(format!("concerta{}", env::consts::EXE_SUFFIX));
        if !bin.is_file() {
            bail!(
                "the build did not produce the `concerta` binary at {}",
                bin.display()
            );
        }
        println!("concerta binary: {}", bin.display());
        Ok(bin)
    })?;

    let samod_client = steps.step(
        "build: samod-client for the e2e tests (bench/samod, own workspace)",
        || samod_client(root),
    )?;

    let database_url_test = steps
        .step("postgres: find a database for the Postgres half", || {
            postgres_for_tests(in_ci)
        })?;

    steps.step("npm ci: the official JS client for the e2e tests", || {
        let js = root.join("tests").join("js");
        if !js.join("package.json").is_file() {
            println!("tests/js/package.json absent: nothing to install");
            return Ok(());
        }
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&js))
    })?;

    let smtp_python = steps.step("aiosmtpd and icalendar: the SMTP server and calendar parser of the mail e2e tests (a venv in the cache)", || {
        smtp_python(in_ci)
    })?;

    steps.step("test: cargo test --workspace", || {
        let mut cmd = cargo(root);
        cmd.args(["test", "--workspace"])
            .env("CONCERTA_BIN", &bin)
            .env("SAMOD_CLIENT", &samod_client);
        if let Some(python) = &smtp_python {
            cmd.env("CONCERTA_SMTP_PYTHON", python);
        }
        if let Some(url) = &database_url_test {
            cmd.env("DATABASE_URL_TEST", url);
        }
        run(&mut cmd)
    })?;

    let chromium = steps.step("chromium: Debian's browser for the browser tests", || web::ensure_chromium(in_ci))?;

    steps.step("browser tests: Playwright against the real binary", || {
        web::browser_tests(root, &bin, &chromium, database_url_test.as_deref(), smtp_python.as_deref())
    })?;

    let postgres = match &database_url_test {
        Some(url) => format!("Postgres half ran against {}", redact(url)),
        None => "Postgres half skipped".to_owned(),
    };
    println!(
        "\n==> ci passed: {} steps in {}; SQLite half ran; {postgres}",
        steps.total,
        elapsed(steps.started.elapsed())
    );
    Ok(())
}

/// Builds `samod-client` from `bench/samod` (a separate Cargo workspace with its own lock
/// file) into `<target>/samod`, apart from the main workspace's artifacts; returns its path.
fn samod_client(root: &Path) -> Result<PathBuf> {
    let target = target_dir(root)?.join("samod");
    let manifest = root.join("bench").join("samod").join("Cargo.toml");
    run(cargo(root)
        .args(["build", "--bin", "samod-client", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target))?;
    let bin = target
        .join("debug")
        .join(format!("samod-client{}", env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!(
            "the build did not produce samod-client at {}",
            bin.display()
        );
    }
    println!("samod-client binary: {}", bin.display());
    Ok(bin)
}

/// `DATABASE_URL_TEST` if set, else the local Postgres if it accepts connections, else none
/// (an error under CI, where the Postgres half must run).
fn postgres_for_tests(in_ci: bool) -> Result<Option<String>> {
    if let Some(url) = env::var("DATABASE_URL_TEST").ok().filter(|u| !u.is_empty()) {
        println!("DATABASE_URL_TEST is set: {}", redact(&url));
        return Ok(Some(url));
    }
    let addr: SocketAddr = LOCAL_POSTGRES_ADDR.parse().expect("a valid socket address");
    match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        Ok(_) => {
            println!(
                "Postgres answers on {LOCAL_POSTGRES_ADDR}: DATABASE_URL_TEST={LOCAL_POSTGRES_URL}"
            );
            Ok(Some(LOCAL_POSTGRES_URL.to_owned()))
        }
        Err(err) if in_ci => bail!(
            "CI is set but Postgres is not reachable on {LOCAL_POSTGRES_ADDR} ({err}) and \
             DATABASE_URL_TEST is unset; CI must run the Postgres half of the database tests"
        ),
        Err(err) => {
            println!(
                "Postgres not reachable: the Postgres half of the database tests is skipped \
                 ({LOCAL_POSTGRES_ADDR}: {err}; set DATABASE_URL_TEST to use another server)"
            );
            Ok(None)
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

/// The target directory cargo builds into, as `cargo metadata` resolves it (it honours
/// `CARGO_TARGET_DIR` and `build.target-dir`); `<workspace>/target` if that cannot be read.
fn target_dir(root: &Path) -> Result<PathBuf> {
    let metadata = output(cargo(root).args(["metadata", "--format-version", "1", "--no-deps"]));
    if let Some(dir) = metadata
        .ok()
        .and_then(|json| json_string_field(&json, "target_directory"))
    {
        return Ok(PathBuf::from(dir));
    }
    Ok(match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    })
}

/// The value of the first `"field":"…"` string in compact JSON (what `cargo metadata` prints).
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\":\"");
    let start = json.find(&key)? + key.len();
    let mut value = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// run

fn run_server(root: &Path, extra: &[String]) -> Result<ExitCode> {
    web::build(root)?;
    let mut cmd = cargo(root);
    cmd.args(["run", "--release", "--package", "concerta-server", "--", "serve", "--demo"])
        .args(extra);
    println!("$ {}", show(&cmd));
    let status = cmd.status().context("could not start cargo run")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_families_match_companions_but_not_lookalikes() {
        for name in [
            "tokio",
            "tokio-macros",
            "sea-orm",
            "sea-orm-macros",
            "sea-query-binder",
            "sqlx-core",
            "tower_service",
            "hyper-util",
            "axum",
            "lettre",
        ] {
            assert!(is_forbidden(name), "{name} should be forbidden");
        }
        for name in [
            "towers",
            "hyperloglog",
            "serde",
            "tokio2",
            "sea",
            "automerge",
        ] {
            assert!(!is_forbidden(name), "{name} should be allowed");
        }
    }

    #[test]
    fn tree_output_is_read_by_crate_name() {
        let tree = "concerta-core v0.1.0 (/w/crates/concerta-core)\n\
                    serde v1.0.229\n\
                    tokio v1.48.0\n\
                    tokio-macros v2.6.0 (proc-macro)\n\
                    tokio v1.48.0 (*)\n";
        let found: Vec<_> = forbidden_in_tree(tree).into_iter().collect();
        assert_eq!(
            found,
            vec![
                ("tokio".to_owned(), "v1.48.0".to_owned()),
                ("tokio-macros".to_owned(), "v2.6.0".to_owned()),
            ]
        );
        assert!(forbidden_in_tree("serde v1\nuuid v1\n").is_empty());
    }

    #[test]
    fn scan_finds_markers_and_skips_target_and_node_modules() {
        let root = env::temp_dir().join(format!("xtask-scan-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        let [ignore, todo, _] = markers();
        write(
            "crates/a/src/lib.rs",
            &format!("fn ok() {{}}\n{ignore}]\nfn t() {{}}\n"),
        );
        write("tests/it/main.rs", &format!("fn f() {{ {todo}) }}\n"));
        write("crates/a/target/debug/x.rs", &format!("{todo})\n"));
        write("tests/js/node_modules/p/x.rs", &format!("{todo})\n"));
        write("migrations/src/lib.rs", "fn clean() {}\n");
        write("crates/a/README.md", &format!("{todo})\n"));
        let hits = scan_markers(&root).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(hits.len(), 2, "{hits:#?}");
        assert!(hits[0].starts_with("crates/a/src/lib.rs:2:"), "{}", hits[0]);
        assert!(hits[1].starts_with("tests/it/main.rs:1:"), "{}", hits[1]);
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://concerta:secret@db:5432/concerta"),
            "postgres://concerta:***@db:5432/concerta"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn json_string_field_reads_cargo_metadata() {
        let json = r#"{"packages":[],"target_directory":"/w/tar\"get","version":1}"#;
        assert_eq!(
            json_string_field(json, "target_directory").as_deref(),
            Some("/w/tar\"get")
        );
        assert_eq!(json_string_field(json, "missing"), None);
    }

    #[test]
    fn elapsed_is_short() {
        assert_eq!(elapsed(Duration::from_millis(1234)), "1.2s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m05s");
    }
}

// ---------------------------------------------------------------------------------------------
// bench

/// `cargo xtask bench`: release builds of the three Rust programs into the target directory,
/// `npm ci` in `bench/js` when its packages are missing, then `loadgen bench`, which starts
/// each server fresh on 127.0.0.1, measures it and writes `bench/RESULTS.md`.
fn bench(root: &Path, rest: &[String]) -> Result<ExitCode> {
    let mut passed: Vec<String> = Vec::new();
    let mut jsloop = false;
    let mut upload = false;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--jsloop" => jsloop = true,
            "--upload" => upload = true,
            "--quick" | "--no-pin" | "--keep" => passed.push(arg.clone()),
            "--servers" => {
                let list = it.next().context("--servers needs a list, e.g. concerta,samod")?;
                passed.extend([arg.clone(), list.clone()]);
            }
            "--coalesce" => {
                let list = it.next().context("--coalesce needs windows in ms, e.g. 0,50,100")?;
                passed.extend([arg.clone(), list.clone()]);
            }
            other => bail!("`cargo xtask bench`: unknown argument `{other}` (--jsloop [--coalesce MS,MS], --upload, --quick, --servers LIST, --no-pin, --keep)"),
        }
    }
    let target = target_dir(root)?;
    let bench_dir = root.join("bench");
    run(cargo(root).args(["build", "--release", "--package", "concerta-server", "--target-dir"]).arg(&target))?;
    for manifest in ["samod", "loadgen"] {
        run(cargo(root)
            .args(["build", "--release", "--manifest-path"])
            .arg(bench_dir.join(manifest).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target))?;
    }
    let js = bench_dir.join("js");
    if !js.join("node_modules").join("@automerge").join("automerge-repo-sync-server").is_dir() {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&js))?;
    }
    let release = target.join("release");
    let exe = |name: &str| release.join(format!("{name}{}", env::consts::EXE_SUFFIX));
    let shown = std::iter::once("cargo xtask bench".to_owned())
        .chain(jsloop.then(|| "--jsloop".to_owned()))
        .chain(upload.then(|| "--upload".to_owned()))
        .chain(passed.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    if jsloop && upload {
        bail!("`cargo xtask bench`: --jsloop and --upload are separate runs");
    }
    if jsloop {
        passed.retain(|a| a != "--keep");
    }
    let mut cmd = Command::new(exe("loadgen"));
    cmd.arg(if jsloop {
        "jsloop"
    } else if upload {
        "upload"
    } else {
        "bench"
    })
        .args(&passed)
        .arg("--repo-root")
        .arg(root)
        .arg("--out")
        .arg(bench_dir.join("RESULTS.md"))
        .arg("--concerta")
        .arg(exe("concerta"))
        .arg("--samod")
        .arg(exe("samod-server"))
        .arg("--js-dir")
        .arg(&js)
        .args(["--command", &shown])
        .current_dir(root);
    run(&mut cmd)?;
    println!("bench: wrote {}", bench_dir.join("RESULTS.md").display());
    Ok(ExitCode::SUCCESS)
}

/// A Python with aiosmtpd (the SMTP server of the mail e2e tests) and icalendar (the
/// independent parser of their calendar parts): a venv under `~/.cache/concerta-smtp-venv`
/// (made and filled with `pip install aiosmtpd==1.4.6 icalendar==7.3.2` when either is
/// missing). Returns its `python`. Outside CI a failure is reported and the mail tests skip
/// themselves; in CI it is an error.
fn smtp_python(in_ci: bool) -> Result<Option<PathBuf>> {
    let home = env::var_os("HOME").map(PathBuf::from).unwrap_or_else(env::temp_dir);
    let venv = home.join(".cache").join("concerta-smtp-venv");
    let python = venv.join("bin").join("python");
    let has_packages = |python: &Path| {
        Command::new(python)
            .args(["-c", "import aiosmtpd, icalendar"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has_packages(&python) {
        println!("aiosmtpd and icalendar: {}", python.display());
        return Ok(Some(python));
    }
    let made = run(Command::new("python3").arg("-m").arg("venv").arg(&venv)).and_then(|()| {
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "aiosmtpd==1.4.6", "icalendar==7.3.2"]))
    });
    match made {
        Ok(()) if has_packages(&python) => {
            println!("aiosmtpd and icalendar installed: {}", python.display());
            Ok(Some(python))
        }
        Ok(()) | Err(_) if in_ci => bail!("could not install aiosmtpd and icalendar into {}", venv.display()),
        Ok(()) => Ok(None),
        Err(e) => {
            println!("aiosmtpd and icalendar could not be installed ({e:#}); the mail e2e tests will skip themselves");
            Ok(None)
        }
    }
}

/// `cargo xtask bench-logins`: the release server and the flood client
/// (`tests/bench_logins.rs`, debug): 1,000 concurrent wrong logins with the shipped throttling
/// and without it; the client writes the `logins` block of `bench/RESULTS.md`.
fn bench_logins(root: &Path, args: &[String]) -> Result<()> {
    if let Some(other) = args.first() {
        bail!("`cargo xtask bench-logins` takes no arguments (got `{other}`)");
    }
    let target = target_dir(root)?;
    web::build(root)?;
    run(cargo(root).args(["build", "--release", "--package", "concerta-server"]))?;
    run(cargo(root).args(["build", "--package", "concerta-e2e", "--bin", "bench-logins"]))?;
    let bin = target.join("release").join(format!("concerta{}", env::consts::EXE_SUFFIX));
    let client = target.join("debug").join(format!("bench-logins{}", env::consts::EXE_SUFFIX));
    run(Command::new(client)
        .env("CONCERTA_BIN", &bin)
        .env("BENCH_OUT", root.join("bench").join("RESULTS.md"))
        .current_dir(root))
}

/// `cargo xtask bench-mail [--postgres]`: the release server, the bench client
/// (`tests/bench_mail.rs`, debug) and aiosmtpd, then 1,000 account and 1,000 roundtable
/// invitations; the client writes the `notify` block of `bench/RESULTS.md`.
fn bench_mail(root: &Path, args: &[String]) -> Result<()> {
    let mut postgres = false;
    for arg in args {
        match arg.as_str() {
            "--postgres" => postgres = true,
            other => bail!("`cargo xtask bench-mail`: unknown argument `{other}` (--postgres)"),
        }
    }
    let target = target_dir(root)?;
    let python = smtp_python(false)?.context("aiosmtpd could not be installed: the benchmark needs it")?;
    web::build(root)?;
    run(cargo(root).args(["build", "--release", "--package", "concerta-server"]))?;
    run(cargo(root).args(["build", "--package", "concerta-e2e", "--bin", "bench-mail"]))?;
    let bin = target.join("release").join(format!("concerta{}", env::consts::EXE_SUFFIX));
    let client = target.join("debug").join(format!("bench-mail{}", env::consts::EXE_SUFFIX));
    let mut cmd = Command::new(client);
    cmd.env("CONCERTA_BIN", &bin)
        .env("CONCERTA_SMTP_PYTHON", &python)
        .env("BENCH_OUT", root.join("bench").join("RESULTS.md"))
        .current_dir(root);
    if postgres {
        let url = postgres_for_tests(false)?.context("--postgres: no Postgres reachable (DATABASE_URL_TEST)")?;
        cmd.arg("--postgres").env("DATABASE_URL_TEST", url);
    }
    run(&mut cmd)
}
