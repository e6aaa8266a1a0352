//! The web app's tasks: build `web/dist` (npm ci + vite build, only when something changed),
//! its unit tests (vitest), and the browser tests (Playwright driving Debian's chromium
//! against the real `concerta` binary).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::run;

/// Where Debian's chromium lives (`apt-get install -y chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The `web/` folder.
pub fn web_dir(root: &Path) -> PathBuf {
    root.join("web")
}

/// `npm` (`npm.cmd` on Windows).
fn npm() -> Command {
    Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

/// `npm ci` in `dir` when its `node_modules` is missing or older than its lock file.
pub fn npm_ci_if_needed(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    if newest(&[lock.clone()])? <= mtime(&installed) && installed.is_file() {
        println!("{}: node_modules is up to date with package-lock.json", dir.display());
        return Ok(());
    }
    run(npm()
        .args(["ci", "--no-audit", "--no-fund"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(dir))
}

/// Builds `web/dist` unless it is newer than every input. Returns whether it built.
///
/// A release build of the server embeds `web/dist`; when the bundle appears for the first
/// time, `crates/concerta-server/src/web.rs` is touched so that cargo embeds it (cargo does
/// not notice a folder that appears where none was).
pub fn build(root: &Path) -> Result<bool> {
    let web = web_dir(root);
    npm_ci_if_needed(&web)?;
    let index = web.join("dist").join("index.html");
    let inputs = [
        web.join("src"),
        web.join("public"),
        web.join("index.html"),
        web.join("package-lock.json"),
        web.join("vite.config.ts"),
        web.join("tsconfig.json"),
    ];
    let had_bundle = index.is_file();
    if had_bundle && newest(&inputs)? <= mtime(&index) {
        println!("web/dist is up to date");
        return Ok(false);
    }
    run(npm().args(["run", "build"]).current_dir(&web))?;
    if !index.is_file() {
        bail!("vite build did not write {}", index.display());
    }
    if !had_bundle {
        let embedder = root.join("crates").join("concerta-server").join("src").join("web.rs");
        touch(&embedder)?;
    }
    Ok(true)
}

/// Runs the app's lint (import boundaries, no literal UI text, jsx-a11y) and unit tests
/// (vitest).
pub fn unit_tests(root: &Path) -> Result<()> {
    run(npm().args(["run", "lint"]).current_dir(web_dir(root)))?;
    run(npm().args(["run", "test"]).current_dir(web_dir(root)))
}

/// Makes sure Debian's chromium is there: under CI it is installed with apt-get when missing
/// (and a failure fails the run); elsewhere a missing chromium is an error that says how to
/// install it.
pub fn ensure_chromium(in_ci: bool) -> Result<PathBuf> {
    let path = PathBuf::from(env::var_os("CONCERTA_CHROMIUM").unwrap_or_else(|| CHROMIUM.into()));
    if path.is_file() {
        return Ok(path);
    }
    if in_ci {
        println!("{} is missing: installing Debian's chromium", path.display());
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!(
        "the browser tests need Debian's chromium at {} (install it with `apt-get install -y \
         chromium`, or point CONCERTA_CHROMIUM at a Chromium binary)",
        path.display()
    )
}

/// Runs the Playwright browser tests against `bin` (each test file starts its own servers;
/// those that check email deliver it to aiosmtpd run by `smtp_python`).
pub fn browser_tests(root: &Path, bin: &Path, chromium: &Path, database_url_test: Option<&str>, smtp_python: Option<&Path>) -> Result<()> {
    let mut cmd = npm();
    cmd.args(["run", "test:browser"])
        .current_dir(web_dir(root))
        .env("CONCERTA_BIN", bin)
        .env("CONCERTA_CHROMIUM", chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    if let Some(url) = database_url_test {
        cmd.env("DATABASE_URL_TEST", url);
    }
    if let Some(python) = smtp_python {
        cmd.env("CONCERTA_SMTP_PYTHON", python);
    }
    run(&mut cmd)
}

/// `cargo xtask bench-web [--quick]`: the release server, the web bundle and the JS client
/// (which prefills sections), then the browser benchmark (`web/bench`), which writes its own
/// block of `bench/RESULTS.md`.
pub fn bench(root: &Path, target: &Path, args: &[String]) -> Result<()> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => bail!("`cargo xtask bench-web`: unknown argument `{other}` (--quick)"),
        }
    }
    build(root)?;
    npm_ci_if_needed(&root.join("tests").join("js"))?;
    let chromium = ensure_chromium(false)?;
    run(crate::cargo(root).args(["build", "--release", "--package", "concerta-server", "--target-dir"]).arg(target))?;
    let bin = target.join("release").join(format!("concerta{}", env::consts::EXE_SUFFIX));
    let mut cmd = npm();
    cmd.args(["run", "bench"])
        .current_dir(web_dir(root))
        .env("CONCERTA_BIN", &bin)
        .env("CONCERTA_CHROMIUM", &chromium)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .env("BENCH_OUT", root.join("bench").join("RESULTS.md"));
    if quick {
        cmd.env("BENCH_SIZES", "100,2000").env("BENCH_KEYSTROKES", "30").env("BENCH_OPENS", "2");
    }
    run(&mut cmd)
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The newest modification time of the files under `paths` (folders are walked).
fn newest(paths: &[PathBuf]) -> Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        let Ok(meta) = fs::metadata(&path) else { continue };
        if meta.is_dir() {
            for entry in fs::read_dir(&path).with_context(|| format!("listing {}", path.display()))? {
                stack.push(entry?.path());
            }
        } else if let Ok(modified) = meta.modified() {
            newest = newest.max(modified);
        }
    }
    Ok(newest)
}

fn touch(path: &Path) -> Result<()> {
    let file = fs::File::options().append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
    file.set_modified(SystemTime::now()).with_context(|| format!("touching {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_walks_folders_and_ignores_missing_paths() {
        let dir = env::temp_dir().join(format!("xtask-web-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("a/b/old.txt"), "x").unwrap();
        let old = mtime(&dir.join("a/b/old.txt"));
        fs::write(dir.join("a/new.txt"), "y").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        fs::File::options().append(true).open(dir.join("a/new.txt")).unwrap().set_modified(later).unwrap();
        let found = newest(&[dir.join("a"), dir.join("missing")]).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert!(found >= later && found > old);
    }
}
