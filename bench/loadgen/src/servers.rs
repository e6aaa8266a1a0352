//! The servers under test: start fresh on 127.0.0.1, sample /proc, stop.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Concerta,
    Npm,
    Repo2,
    Samod,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "concerta" => Kind::Concerta,
            "npm" => Kind::Npm,
            "repo2" => Kind::Repo2,
            "samod" => Kind::Samod,
            other => bail!("unknown server `{other}` (concerta, npm, repo2, samod)"),
        })
    }
    pub fn key(self) -> &'static str {
        match self {
            Kind::Concerta => "concerta",
            Kind::Npm => "npm",
            Kind::Repo2 => "repo2",
            Kind::Samod => "samod",
        }
    }
}

/// Where the server programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    pub concerta: PathBuf,
    pub samod: PathBuf,
    pub js_dir: PathBuf,
    pub node: String,
    /// CPU the servers are pinned to (None: no pinning).
    pub server_cpu: Option<usize>,
}

/// One server: its data directory survives restarts.
pub struct Server {
    pub kind: Kind,
    pub data_dir: PathBuf,
    pub port: u16,
    pub token: Option<String>,
    /// Extra environment for the server process.
    pub env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    programs: Programs,
}

/// CPU time and memory of a process at one instant.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Each thread's on-CPU time from /proc/<pid>/task/<tid>/schedstat (ns resolution).
    pub threads: Vec<(u32, u64)>,
    /// utime + stime of /proc/<pid>/stat (clock ticks → ns; 10 ms resolution).
    pub stat_ns: u64,
    pub rss_kb: u64,
    /// The anonymous part of `rss_kb` (`RssAnon`: heap, stacks), without the program's
    /// mapped code and data, which a larger binary has more of.
    pub anon_kb: u64,
}

impl Sample {
    /// CPU ns between two samples: schedstat when it moved, else stat.
    pub fn cpu_ns_since(&self, earlier: &Sample) -> u64 {
        let before: std::collections::HashMap<u32, u64> = earlier.threads.iter().copied().collect();
        let sched: u64 = self.threads.iter().map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0))).sum();
        let stat = self.stat_ns.saturating_sub(earlier.stat_ns);
        // A thread that exited took its schedstat with it; stat (10 ms ticks) keeps it.
        let now: std::collections::HashSet<u32> = self.threads.iter().map(|(t, _)| *t).collect();
        if before.keys().any(|t| !now.contains(t)) { sched.max(stat) } else { sched }
    }
}

pub fn sample(pid: u32) -> Sample {
    let mut s = Sample::default();
    if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the `(comm)`: state is field 3; utime 14, stime 15.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
            s.stat_ns = ticks * 1_000_000_000 / hz;
        }
    }
    if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) {
        for t in dir.flatten() {
            let Some(tid) = t.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if let Ok(ss) = fs::read_to_string(t.path().join("schedstat")) {
                let ns = ss.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                s.threads.push((tid, ns));
            }
        }
    }
    if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kb = |v: &str| v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
            if let Some(v) = line.strip_prefix("VmRSS:") {
                s.rss_kb = kb(v);
            } else if let Some(v) = line.strip_prefix("RssAnon:") {
                s.anon_kb = kb(v);
            }
        }
    }
    s
}

pub fn self_sample() -> Sample {
    sample(std::process::id())
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The child dies with us (SIGTERM if the load generator exits), pinned to `cpu` if set.
fn pin(cmd: &mut Command, cpu: Option<usize>) {
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if let Some(cpu) = cpu {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
            Ok(())
        });
    }
}

/// Pins the calling thread's process (all its future threads) to `cpu`.
pub fn pin_self(cpu: usize) {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Raises the soft open-files limit to the hard one (children inherit it).
pub fn raise_nofile() -> u64 {
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur as u64
    }
}

impl Server {
    pub fn new(kind: Kind, root: &Path, programs: &Programs) -> Result<Server> {
        let data_dir = root.join(kind.key());
        fs::create_dir_all(&data_dir)?;
        Ok(Server {
            kind,
            log: root.join(format!("{}.log", kind.key())),
            data_dir,
            port: free_port()?,
            token: None,
            env: Vec::new(),
            child: None,
            programs: programs.clone(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn url(&self) -> String {
        match &self.token {
            Some(t) => format!("ws://127.0.0.1:{}/sync?token={t}", self.port),
            None => format!("ws://127.0.0.1:{}/sync", self.port),
        }
    }

    /// Concerta only: a network admin and its API token (before the first start).
    pub fn provision_concerta(&mut self) -> Result<()> {
        let bin = &self.programs.concerta;
        let data = self.data_dir.to_str().context("utf-8 path")?;
        let out = Command::new(bin)
            .args(["--data", data, "admin", "create-user", "--email", "bench@example.org", "--name", "A", "--password", "secretpass", "--network-admin"])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .output()
            .context("concerta admin create-user")?;
        if !out.status.success() {
            bail!("concerta admin create-user: {}", String::from_utf8_lossy(&out.stderr));
        }
        let out = Command::new(bin)
            .args(["--data", data, "admin", "token", "--email", "bench@example.org"])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .output()
            .context("concerta admin token")?;
        if !out.status.success() {
            bail!("concerta admin token: {}", String::from_utf8_lossy(&out.stderr));
        }
        self.token = Some(String::from_utf8(out.stdout)?.trim().to_string());
        Ok(())
    }

    /// Starts the server (fresh process, same data directory) and waits until it accepts TCP.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("already running");
        }
        let p = &self.programs;
        let port = self.port.to_string();
        let data = self.data_dir.to_str().context("utf-8 path")?.to_string();
        let mut cmd = match self.kind {
            Kind::Concerta => {
                let mut c = Command::new(&p.concerta);
                c.args(["--data", &data, "serve", "--addr", &format!("127.0.0.1:{port}")]);
                c.env_remove("DATABASE_URL").env("RUST_LOG", "warn");
                c
            }
            Kind::Npm | Kind::Repo2 => {
                let script = if self.kind == Kind::Npm { "sync-server-npm.mjs" } else { "server-repo2.mjs" };
                let mut c = Command::new(&p.node);
                c.arg(p.js_dir.join(script)).current_dir(&p.js_dir);
                c.env("PORT", &port).env("DATA_DIR", &data);
                c
            }
            Kind::Samod => {
                let mut c = Command::new(&p.samod);
                c.env("PORT", &port).env("DATA_DIR", &data).env("RUST_LOG", "warn");
                c
            }
        };
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let log = fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        pin(&mut cmd, p.server_cpu);
        let child = cmd.spawn().with_context(|| format!("spawn {:?}", self.kind))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                bail!("{} exited at start ({status}); log: {}", self.kind.key(), self.log.display());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                self.stop();
                bail!("{} did not listen within 60 s", self.kind.key());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
