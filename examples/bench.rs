//! gwb's benchmark: prints figures, asserts nothing.
//!
//! `cargo run --release --example bench` runs, for each tenant size, against the emulator with
//! per-request latency and Graph's write limit (3,000 per 150 s) at a compressed time scale:
//! - report: list requests made against the minimum ceil(N/999), wall time against the round-trip
//!   floor (requests x latency), client CPU time and peak memory; the bare round trips of the same
//!   pages (a client that parses nothing), so gwb's own share is visible; and the same tenant read
//!   the way Graph PowerShell's `-All` does ($top=100, one page after another);
//! - disable-existing-m365: wall time against the floor set by the write limit (plus listing),
//!   the share of writes answered 429, peak memory; and Microsoft's recipe (one PATCH per group,
//!   one after another) for comparison.
//!
//! The emulator runs in a child process and each measured run in a child process of its own, so
//! peak memory (VmHWM) and CPU time belong to that run alone.

// A benchmark prints its figures: it is not part of the library that the print lints guard.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{StreamExt, pin_mut};
use gwb::auth::StaticToken;
use gwb::change::Context;
use gwb::cli::{ApplyArgs, OutputFormat};
use gwb::emulator::{Emulator, EmulatorConfig, Tenant};
use gwb::graph::GraphClient;
use gwb::graph::model::{GROUP_SELECT, Group};
use serde_json::{Value, json};

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Tenant sizes.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    groups: Vec<usize>,
    /// Latency the emulator adds to every request.
    #[arg(long, default_value_t = 10)]
    latency_ms: u64,
    /// Time compression for the write window: 150 s / scale.
    #[arg(long, default_value_t = 100.0)]
    scale: f64,
    /// Run Microsoft's sequential recipe only up to this many groups (it is slow by design).
    #[arg(long, default_value_t = 10_000)]
    sequential_up_to: usize,
    #[arg(long, default_value_t = 4)]
    concurrency: u16,
    /// Read with $top=100 (as Graph PowerShell's -All) only up to this many groups.
    #[arg(long, default_value_t = 100_000)]
    top100_up_to: usize,
    /// Internal: serve the emulator.
    #[arg(long, hide = true)]
    serve: bool,
    /// Internal: run one measurement against URL.
    #[arg(long, hide = true)]
    run: Option<String>,
    #[arg(long, hide = true)]
    url: Option<String>,
    /// Run the fleet benchmark instead (issue 19): `--tenants` emulators of `--fleet-groups`
    /// groups each, fleet report and check with each `--parallel`, against one tenant's run.
    #[arg(long)]
    fleet: bool,
    #[arg(long, default_value_t = 100)]
    tenants: usize,
    #[arg(long, default_value_t = 2_000)]
    fleet_groups: usize,
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    parallel: Vec<usize>,
    /// Internal: serve `--tenants` emulators, one URL per line.
    #[arg(long, hide = true)]
    serve_fleet: bool,
    /// Internal: run gwb in this process with these arguments; print wall time, CPU, peak memory.
    #[arg(long, hide = true, num_args = 1.., allow_hyphen_values = true)]
    gwb: Vec<String>,
    /// Run the streaming benchmark instead (issue 33): `report -o ndjson`, `-o csv` and the
    /// table, each `--repeat` times into a pipe that the benchmark drains, against an emulator
    /// with each of `--latencies`; min, median and max of wall time, CPU and peak memory, and
    /// the bare pager's CPU measured in the same rounds (each round runs every case once), and
    /// each case's ratios to the bare pager round by round.
    #[arg(long)]
    streaming: bool,
    /// Runs of each streaming case; with `--fleet`, rounds (each: one tenant, then the fleet at
    /// each `--parallel`), with the median ratio printed last.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[arg(long, value_delimiter = ',', default_value = "0,10")]
    latencies: Vec<u64>,
    /// Internal: like --gwb, its data written to stdout (a pipe the benchmark drains); the
    /// figures go to stderr.
    #[arg(long, hide = true, num_args = 1.., allow_hyphen_values = true)]
    gwb_stdout: Vec<String>,
}

const WRITE_LIMIT: u32 = 3_000;

fn window(scale: f64) -> f64 {
    150.0 / scale
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.serve_fleet {
        rt.block_on(serve_fleet(&args));
    } else if !args.gwb.is_empty() {
        println!("{}", rt.block_on(run_gwb(&args.gwb)));
    } else if !args.gwb_stdout.is_empty() {
        let v = rt.block_on(run_gwb_to_stdout(&args.gwb_stdout));
        eprintln!("{v}");
    } else if args.streaming {
        drive_streaming(&args);
    } else if args.fleet {
        drive_fleet(&args);
    } else if args.serve {
        rt.block_on(serve(&args));
    } else if let Some(what) = &args.run {
        let v = rt.block_on(measure(what, args.url.as_deref().unwrap(), &args));
        println!("{v}");
    } else {
        drive(&args);
    }
}

async fn serve(args: &Args) {
    let cfg = EmulatorConfig {
        latency: Duration::from_millis(args.latency_ms),
        seed: 1,
        fault_rate: 0.0,
        write_limit: Some((WRITE_LIMIT, Duration::from_secs_f64(window(args.scale)))),
        ..Default::default()
    };
    let n = args.groups[0];
    let emu = Emulator::start(Tenant::generate(n, 1), cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    println!("{}", emu.url());
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    })
    .await
    .unwrap();
}

/// Peak resident memory (kB) and CPU seconds of this process, in user mode and in the kernel.
fn self_usage() -> (u64, f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; index 11 and 12 after the ')'.
    (hwm, ticks(11) / 100.0, ticks(12) / 100.0)
}

async fn measure(what: &str, url: &str, args: &Args) -> Value {
    let client = GraphClient::builder(url, Arc::new(StaticToken::new("bench")))
        .build()
        .unwrap();
    let started = Instant::now();
    let ok = match what {
        "report-json" | "report-json-file" | "report-ndjson" | "report-csv" | "report-table" => {
            let format = match what {
                "report-ndjson" => OutputFormat::Ndjson,
                "report-csv" => OutputFormat::Csv,
                "report-table" => OutputFormat::Table,
                _ => OutputFormat::Json,
            };
            let ctx = Context {
                client,
                format,
                // JSON to a --out file streams; to stdout it is kept whole.
                out_is_file: what == "report-json-file",
                way_back: Default::default(),
                deadline: None,
                no_cloud_sync_group_provisioning: false,
                documents: None,
                target: gwb::change::Target {
                    name: None,
                    graph_root: url.to_string(),
                    tenant_id: None,
                },
            };
            gwb::commands::report::run(&ctx, &Default::default(), &mut std::io::sink())
                .await
                .is_ok()
        }
        "parse999" => {
            // The bare pager, each page also parsed into JSON values: what a script that pages
            // with a JSON library does (ConvertFrom-Json, requests' .json()), nothing more.
            let http = reqwest::Client::new();
            let mut next = Some(format!("{url}/beta/groups?$select={GROUP_SELECT}&$top=999"));
            let mut groups = 0usize;
            while let Some(u) = next.take() {
                let body = get_body(&http, &u).await;
                let page: Value = serde_json::from_slice(&body).unwrap();
                groups += page["value"].as_array().map_or(0, Vec::len);
                next = page["@odata.nextLink"].as_str().map(String::from);
            }
            groups > 0
        }
        "trips999" | "trips100" => {
            // The round trips alone: the same chain of pages, fetched by a bare HTTP client that
            // only finds the nextLink and parses nothing. What is left of gwb's wall time above
            // this is gwb's own cost.
            let top = if what == "trips999" { "999" } else { "100" };
            let http = reqwest::Client::new();
            let mut next = Some(format!(
                "{url}/beta/groups?$select={GROUP_SELECT}&$top={top}"
            ));
            let mut pages = 0usize;
            while let Some(u) = next.take() {
                let body = get_body(&http, &u).await;
                pages += 1;
                next = find_next_link(&body);
            }
            pages > 0
        }
        // gwb's own pager and parse of the groups, nothing else (`--run pages999`): with
        // `pages999v` (the same pages, each value skipped) and `trips999`, it splits gwb's wall
        // time over the bare round trips between the HTTP path and the parse.
        "pages999" => listed::<Group>(&client, "999").await.is_some_and(|n| n > 0),
        "pages999v" => listed::<serde::de::IgnoredAny>(&client, "999")
            .await
            .is_some_and(|n| n > 0),
        "report-top100" => listed::<Group>(&client, "100").await.is_some_and(|n| n > 0),
        "disable" | "dry-run" => {
            let ctx = Context {
                client,
                format: OutputFormat::Json,
                out_is_file: false,
                way_back: Default::default(),
                deadline: None,
                no_cloud_sync_group_provisioning: false,
                documents: None,
                target: gwb::change::Target {
                    name: None,
                    graph_root: url.to_string(),
                    tenant_id: None,
                },
            };
            let dir = std::env::temp_dir().join(format!("gwb-bench-{}", std::process::id()));
            let cli_args = gwb::cli::DisableArgs {
                apply: ApplyArgs {
                    dry_run: what == "dry-run",
                    yes: true,
                    max_changes: None,
                    concurrency: args.concurrency,
                    write_limit: WRITE_LIMIT,
                    write_window: window(args.scale),
                    verify_timeout: 30.0,
                },
                exclude: vec![],
                exclude_file: vec![],
                created_before: None,
                skip_role_assignable: false,
                wide: false,
                force: false,
                plan_out: None,
                plan: None,
                journal: None,
                ignore_policy: false,
                accept_renamed: false,
            };
            let r = gwb::commands::disable::run(
                &ctx,
                &cli_args,
                &gwb::change::Dirs {
                    state: Some(dir.clone()),
                    lock: dir.join("locks"),
                },
                &mut std::io::sink(),
            )
            .await;
            let _ = std::fs::remove_dir_all(&dir);
            r.is_ok()
        }
        "sequential" => {
            // Microsoft's recipe: list everything ($top=100, as Get-MgBetaGroup -All), then one
            // PATCH per Microsoft 365 group, one after another.
            let mut list = client.url("groups");
            list.query_pairs_mut()
                .append_pair("$select", GROUP_SELECT)
                .append_pair("$top", "100");
            let stream = client.pages::<Group>(list, Vec::new());
            pin_mut!(stream);
            let mut ids = Vec::new();
            while let Some(Ok(p)) = stream.next().await {
                ids.extend(p.into_iter().filter(|g| g.unified).map(|g| g.id));
            }
            let body = json!({"writebackConfiguration": {"isEnabled": false}});
            for id in ids {
                let u = client.url(&format!("groups/{id}"));
                // Role-assignable groups answer 403, as in a real tenant; the recipe carries on.
                let _ = client
                    .send(reqwest::Method::PATCH, u, &[], Some(&body))
                    .await;
            }
            true
        }
        other => panic!("unknown measurement {other}"),
    };
    let wall = started.elapsed().as_secs_f64();
    let (hwm_kb, user, sys) = self_usage();
    json!({"ok": ok, "wall": wall, "cpu": user + sys, "user": user, "sys": sys, "peakKb": hwm_kb})
}

struct EmuChild {
    child: std::process::Child,
    url: String,
}

fn start_emulator(args: &Args, n: usize) -> EmuChild {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--serve",
            "--groups",
            &n.to_string(),
            "--latency-ms",
            &args.latency_ms.to_string(),
            "--scale",
            &args.scale.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    EmuChild {
        child,
        url: line.trim().to_string(),
    }
}

fn stats(url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::get(format!("{url}/_emulator/stats"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    })
}

fn run_child(args: &Args, what: &str, url: &str) -> Value {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--run",
            what,
            "--url",
            url,
            "--scale",
            &args.scale.to_string(),
            "--concurrency",
            &args.concurrency.to_string(),
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stat(s: &Value, k: &str) -> u64 {
    s[k].as_u64().unwrap_or(0)
}

fn drive(args: &Args) {
    let lat = args.latency_ms as f64 / 1000.0;
    println!(
        "gwb benchmark: emulator latency {} ms per request; write limit {WRITE_LIMIT} per {:.2} s (150 s / {}); {} batches in flight",
        args.latency_ms,
        window(args.scale),
        args.scale,
        args.concurrency
    );
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model()
    );
    println!();
    println!(
        "{:<8} {:<22} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>9} {:>8}",
        "groups",
        "run",
        "requests",
        "minimum",
        "wall s",
        "floor s",
        "ratio",
        "cpu s",
        "peak MB",
        "429 %"
    );
    for &n in &args.groups {
        let tenant = Tenant::generate(n, 1);
        let eligible = tenant
            .groups
            .iter()
            .filter(|g| {
                g.is_unified()
                    && g.on_premises_sync_enabled != Some(true)
                    && g.writeback.is_enabled != Some(false)
            })
            .count();
        let unified = tenant.groups.iter().filter(|g| g.is_unified()).count();
        drop(tenant);
        let pages999 = n.div_ceil(999);
        let pages100 = n.div_ceil(100);

        // report in each format, the gwb way, then the bare round trips of the same pages
        let emu = start_emulator(args, n);
        let floor = pages999 as f64 * lat;
        let mut reports = Vec::new();
        for (what, name) in [
            ("report-json", "report -o json"),
            ("report-json-file", "report json --out"),
            ("report-ndjson", "report -o ndjson"),
            ("report-csv", "report -o csv"),
            ("report-table", "report (table)"),
        ] {
            let before = stats(&emu.url);
            let r = run_child(args, what, &emu.url);
            let s = stats(&emu.url);
            row(
                n,
                name,
                stat(&s, "list_groups") - stat(&before, "list_groups"),
                pages999 as u64,
                &r,
                floor,
                None,
            );
            reports.push((name, r));
        }
        let s = stats(&emu.url);
        let t = run_child(args, "trips999", &emu.url);
        let s1 = stats(&emu.url);
        row(
            n,
            "  bare round trips",
            stat(&s1, "list_groups") - stat(&s, "list_groups"),
            pages999 as u64,
            &t,
            floor,
            None,
        );
        for (name, r) in &reports {
            vs_trips(n, name, r, &t);
        }
        if n <= args.top100_up_to {
            let r = run_child(args, "report-top100", &emu.url);
            let s2 = stats(&emu.url);
            let t = run_child(args, "trips100", &emu.url);
            row(
                n,
                "report, -All ($top=100)",
                stat(&s2, "list_groups") - stat(&s1, "list_groups"),
                pages100 as u64,
                &r,
                pages100 as f64 * lat,
                None,
            );
            vs_trips(n, "report, -All ($top=100)", &r, &t);
        }
        drop(emu);

        // disable, the gwb way, on a fresh tenant: first its dry run, which changes nothing
        let emu = start_emulator(args, n);
        let r = run_child(args, "dry-run", &emu.url);
        let s = stats(&emu.url);
        row(
            n,
            "disable --dry-run",
            stat(&s, "requests"),
            pages999 as u64,
            &r,
            floor,
            None,
        );
        let dry = s;
        let r = run_child(args, "disable", &emu.url);
        let s = stats(&emu.url);
        let w = window(args.scale);
        let write_floor = ((eligible.saturating_sub(1)) / WRITE_LIMIT as usize) as f64 * w + lat;
        let floor = pages999 as f64 * lat + write_floor;
        let writes = stat(&s, "patch_group_attempt").max(1);
        let throttled = 100.0 * stat(&s, "throttled_writes") as f64 / writes as f64;
        let requests = stat(&s, "requests") - stat(&dry, "requests");
        // One pass of list pages; per 20 changes, one $batch that reads them again just before
        // writing (compare-and-set) and one that writes; then the read-back: by id for 200
        // changes or fewer, else one more pass of list pages.
        let read_back = if eligible <= 200 {
            eligible.div_ceil(20)
        } else {
            pages999
        };
        let min_requests = (pages999 + 2 * eligible.div_ceil(20) + read_back) as u64;
        row(
            n,
            "disable ($batch, paced)",
            requests,
            min_requests,
            &r,
            floor,
            Some(throttled),
        );
        drop(emu);

        if n <= args.sequential_up_to {
            let emu = start_emulator(args, n);
            let r = run_child(args, "sequential", &emu.url);
            let s = stats(&emu.url);
            let seq_floor = (pages100 + unified) as f64 * lat;
            let writes = stat(&s, "patch_group_attempt").max(1);
            let throttled = 100.0 * stat(&s, "throttled_writes") as f64 / writes as f64;
            row(
                n,
                "recipe (1 PATCH each)",
                stat(&s, "requests"),
                (pages100 + unified) as u64,
                &r,
                seq_floor,
                Some(throttled),
            );
            drop(emu);
        } else {
            println!(
                "{n:<8} {:<22} not run: about {} sequential requests, {:.0} s at this latency",
                "recipe (1 PATCH each)",
                pages100 + unified,
                (pages100 + unified) as f64 * lat
            );
        }
        println!("{n:<8} ({eligible} groups to disable, {unified} Microsoft 365 groups)");
    }
}

impl Drop for EmuChild {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// gwb's wall time against the measured bare round trips of the same pages.
fn vs_trips(n: usize, name: &str, r: &Value, t: &Value) {
    let (w, tw) = (
        r["wall"].as_f64().unwrap_or(0.0),
        t["wall"].as_f64().unwrap_or(0.0),
    );
    println!(
        "{n:<8} {name:<22} {:.2} s against {tw:.2} s of bare round trips of the same pages: {:.2}x",
        w,
        if tw > 0.0 { w / tw } else { 0.0 }
    );
}

fn row(
    n: usize,
    name: &str,
    requests: u64,
    min: u64,
    r: &Value,
    floor: f64,
    throttled: Option<f64>,
) {
    let wall = r["wall"].as_f64().unwrap_or(0.0);
    println!(
        "{:<8} {:<22} {:>9} {:>9} {:>9.2} {:>9.2} {:>7.2} {:>7.2} {:>9.1} {:>8}{}",
        n,
        name,
        requests,
        min,
        wall,
        floor,
        if floor > 0.0 { wall / floor } else { 0.0 },
        r["cpu"].as_f64().unwrap_or(0.0),
        r["peakKb"].as_f64().unwrap_or(0.0) / 1024.0,
        throttled
            .map(|t| format!("{t:.2}"))
            .unwrap_or_else(|| "-".into()),
        if r["ok"].as_bool() == Some(true) {
            ""
        } else {
            "  (run reported an error)"
        }
    );
}

/// The nextLink of a page, by a plain byte search (the emulator writes it unescaped).
fn find_next_link(body: &[u8]) -> Option<String> {
    let key = b"\"@odata.nextLink\":\"";
    let start = body.windows(key.len()).position(|w| w == key)? + key.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    Some(String::from_utf8_lossy(&body[start..start + len]).into_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// `--tenants` emulators, each its own tenant (seed i) with the per-request latency; their URLs
/// on stdout, one per line; served until the parent closes stdin.
async fn serve_fleet(args: &Args) {
    let mut emus = Vec::new();
    for i in 0..args.tenants {
        let cfg = EmulatorConfig {
            latency: Duration::from_millis(args.latency_ms),
            seed: i as u64 + 1,
            ..Default::default()
        };
        let tenant = Tenant::generate(args.fleet_groups, i as u64 + 1);
        let emu = Emulator::start(tenant, cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        println!("{}", emu.url());
        emus.push(emu);
    }
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    })
    .await
    .unwrap();
}

/// How many values the pages of the groups at `$top` hold, read as `T` by gwb's own pager;
/// `None` when a page failed.
async fn listed<T: serde::de::DeserializeOwned + 'static>(
    client: &GraphClient,
    top: &str,
) -> Option<usize> {
    let mut url = client.url("groups");
    url.query_pairs_mut()
        .append_pair("$select", GROUP_SELECT)
        .append_pair("$top", top);
    let stream = client.pages::<T>(url, Vec::new());
    pin_mut!(stream);
    let (mut n, mut ok) = (0usize, true);
    while let Some(p) = stream.next().await {
        match p {
            Ok(p) => n += p.len(),
            Err(_) => ok = false,
        }
    }
    ok.then_some(n)
}

/// One page's body, as the bare pagers fetch it.
async fn get_body(http: &reqwest::Client, url: &str) -> bytes::Bytes {
    http.get(url)
        .bearer_auth("bench")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
}

/// gwb's own entry point, in this process, its data written to stdout: wall time, CPU, peak
/// memory and exit code.
async fn run_gwb_to_stdout(argv: &[String]) -> Value {
    let cli = <gwb::cli::Cli as clap::Parser>::parse_from(
        std::iter::once("gwb".to_string()).chain(argv.iter().cloned()),
    );
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let code = match gwb::run(cli, &mut out).await {
        Ok(status) => status as u8,
        Err(e) => gwb::exit::for_error(&e) as u8,
    };
    let _ = std::io::Write::flush(&mut out);
    let wall = started.elapsed().as_secs_f64();
    let (peak_kb, user, sys) = self_usage();
    json!({"wall": wall, "cpu": user + sys, "user": user, "sys": sys, "peakKb": peak_kb, "code": code})
}

/// One streaming run in a child process, its output drained from a pipe (as `| wc -l`).
fn streaming_child(what: &[&str], url: &str) -> Value {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--gwb-stdout")
        .args(what)
        .env("GWB_GRAPH_URL", url)
        .env("GWB_ACCESS_TOKEN", "bench")
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("gwb-bench-state"),
        )
        .env("GWB_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut bytes = 0u64;
    let mut pipe = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match std::io::Read::read(&mut pipe, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes += n as u64,
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("{}");
    let mut v: Value = serde_json::from_str(line).unwrap_or(json!({}));
    v["bytes"] = json!(bytes);
    v
}

/// min, median and max of `k` over `runs`.
fn spread(runs: &[Value], k: &str, scale: f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs
        .iter()
        .map(|r| r[k].as_f64().unwrap_or(0.0) * scale)
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// The streaming benchmark (issue 33): each streaming format `--repeat` times against each
/// latency, the worst run shown next to the median, and the bare pager in the same runs.
fn drive_streaming(args: &Args) {
    println!(
        "gwb streaming benchmark: {} runs each; machine: {} cores; {}",
        args.repeat,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model()
    );
    println!(
        "{:<8} {:>4} {:<16} {:>22} {:>22} {:>22}",
        "groups", "ms", "run", "wall s min/med/max", "cpu s min/med/max", "peak MiB min/med/max"
    );
    for &n in &args.groups {
        for &latency in &args.latencies {
            let emu = start_emulator(
                &Args {
                    latency_ms: latency,
                    ..args.clone()
                },
                n,
            );
            // Round by round, every case once in each: a busy spell on the machine then falls
            // on all of them alike, and each round's ratios compare runs minutes apart at most.
            let cases = [
                ("report -o ndjson", ["report", "-o", "ndjson"]),
                ("report -o csv", ["report", "-o", "csv"]),
                ("report (table)", ["report", "-o", "table"]),
            ];
            let (mut bare, mut parsing) = (Vec::new(), Vec::new());
            let mut runs: Vec<Vec<Value>> = vec![Vec::new(); cases.len()];
            for _ in 0..args.repeat {
                bare.push(run_child(args, "trips999", &emu.url));
                parsing.push(run_child(args, "parse999", &emu.url));
                for ((_, what), runs) in cases.iter().zip(&mut runs) {
                    runs.push(streaming_child(what, &emu.url));
                }
            }
            for ((name, _), runs) in cases.iter().zip(&runs) {
                print_spread(n, latency, name, runs);
            }
            print_spread(n, latency, "bare pager", &bare);
            print_spread(n, latency, "pager + JSON", &parsing);
            // Where the CPU goes: gwb's is mostly its own code (user), the bare pager's mostly
            // the kernel's sockets (sys), and the two grow differently with latency.
            for (name, runs) in cases
                .iter()
                .map(|(name, _)| *name)
                .zip(&runs)
                .chain([("bare pager", &bare)])
            {
                let (u, s) = (spread(runs, "user", 1.0).1, spread(runs, "sys", 1.0).1);
                println!("{n:<8} {latency:>4} {name:<16} cpu median: user {u:.2} s, sys {s:.2} s");
            }
            for ((name, _), runs) in cases.iter().zip(&runs) {
                let ratios = |k: &str| -> Vec<Value> {
                    runs.iter()
                        .zip(&bare)
                        .map(|(r, b)| {
                            json!({k: r[k].as_f64().unwrap_or(0.0) / b[k].as_f64().unwrap_or(1.0)})
                        })
                        .collect()
                };
                let (w, c) = (
                    spread(&ratios("wall"), "wall", 1.0),
                    spread(&ratios("cpu"), "cpu", 1.0),
                );
                println!(
                    "{n:<8} {latency:>4} {name:<16} vs the bare pager in the same round: wall {:.3}x {:.3}x {:.3}x, cpu {:.2}x {:.2}x {:.2}x (min/med/max)",
                    w.0, w.1, w.2, c.0, c.1, c.2
                );
            }
            drop(emu);
        }
    }
}

fn print_spread(n: usize, latency: u64, name: &str, runs: &[Value]) {
    let w = spread(runs, "wall", 1.0);
    let c = spread(runs, "cpu", 1.0);
    let p = spread(runs, "peakKb", 1.0 / 1024.0);
    println!(
        "{n:<8} {latency:>4} {name:<16} {:>6.2} {:>6.2} {:>6.2}   {:>6.2} {:>6.2} {:>6.2}   {:>6.1} {:>6.1} {:>6.1}",
        w.0, w.1, w.2, c.0, c.1, c.2, p.0, p.1, p.2
    );
}

/// gwb's own entry point, in this process, its data thrown away: wall time, CPU, peak memory and
/// exit code.
async fn run_gwb(argv: &[String]) -> Value {
    let cli = <gwb::cli::Cli as clap::Parser>::parse_from(
        std::iter::once("gwb".to_string()).chain(argv.iter().cloned()),
    );
    let started = Instant::now();
    let mut out = std::io::sink();
    let code = match gwb::run(cli, &mut out).await {
        Ok(status) => status as u8,
        Err(e) => gwb::exit::for_error(&e) as u8,
    };
    let wall = started.elapsed().as_secs_f64();
    let (peak_kb, user, sys) = self_usage();
    json!({"wall": wall, "cpu": user + sys, "user": user, "sys": sys, "peakKb": peak_kb, "code": code})
}

/// The fleet benchmark: one tenant's report and check, then the fleet's with each --parallel,
/// against the target of 1.3 x ceil(tenants / parallel) x one tenant's wall time; peak memory
/// with the fleet halved (a shard of two) to show it follows the tenants in flight.
fn drive_fleet(args: &Args) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .args([
            "--serve-fleet",
            "--tenants",
            &args.tenants.to_string(),
            "--fleet-groups",
            &args.fleet_groups.to_string(),
            "--latency-ms",
            &args.latency_ms.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut urls = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..args.tenants {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        urls.push(line.trim().to_string());
    }
    let dir = std::env::temp_dir().join(format!("gwb-bench-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "bench-token").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut toml = format!(
        "auth = \"access-token\"\naccess_token_file = \"{}\"\n[policy]\nm365_writeback = \"disabled\"\n",
        token.display()
    );
    for (i, u) in urls.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[tenants]]\nname = \"t{i:03}\"\ngraph_url = \"{u}\"\n"
        ));
    }
    let config = dir.join("gwb.toml");
    std::fs::write(&config, toml).unwrap();
    let emulator_cpu = || -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        let f: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / 100.0
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let run = |extra: &[&str]| -> Value {
        let emu_before = emulator_cpu();
        let mut argv = vec!["--gwb", "--config", config.to_str().unwrap(), "-o", "json"];
        argv.extend_from_slice(extra);
        let out = Command::new(&exe)
            .args(&argv)
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("GWB_LOCK_DIR", dir.join("locks"))
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let mut v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{extra:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        v["emulatorCpu"] = json!(emulator_cpu() - emu_before);
        v
    };
    println!(
        "gwb fleet benchmark: {} tenants x {} groups, emulator latency {} ms per request; {} ({} cores)",
        args.tenants,
        args.fleet_groups,
        args.latency_ms,
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<8} {:<26} {:>8} {:>10} {:>9} {:>8} {:>8} {:>9} {:>9} {:>5}",
        "command",
        "run",
        "wall s",
        "target s",
        "vs target",
        "cpu s",
        "emu cpu",
        "cpu floor",
        "peak MB",
        "exit"
    );
    // Each round measures one tenant's wall time and then the fleet's at each --parallel, so
    // every ratio is taken against a one-tenant run of the same moment (the machine's speed
    // drifts); the medians over the rounds are printed last.
    let mut ratios: std::collections::BTreeMap<(&str, usize), Vec<f64>> = Default::default();
    for round in 1..=args.repeat.max(1) {
        if args.repeat > 1 {
            println!("round {round}");
        }
        for command in ["report", "check"] {
            let one = run(&["--tenant", "t000", command]);
            let one_wall = one["wall"].as_f64().unwrap_or(0.0);
            let line = |name: &str, r: &Value, target: Option<f64>| {
                let wall = r["wall"].as_f64().unwrap_or(0.0);
                let (cpu, emu) = (
                    r["cpu"].as_f64().unwrap_or(0.0),
                    r["emulatorCpu"].as_f64().unwrap_or(0.0),
                );
                println!(
                    "{:<8} {:<26} {:>8.2} {:>10} {:>9} {:>8.2} {:>8.2} {:>9.2} {:>9.1} {:>5}",
                    command,
                    name,
                    wall,
                    target.map_or("-".into(), |t| format!("{t:.2}")),
                    target.map_or("-".into(), |t| format!("{:.2}", wall / t * 1.3)),
                    cpu,
                    emu,
                    (cpu + emu) / cores,
                    r["peakKb"].as_f64().unwrap_or(0.0) / 1024.0,
                    r["code"]
                );
            };
            line("one tenant", &one, None);
            for &p in &args.parallel {
                let r = run(&["--all-tenants", "--parallel", &p.to_string(), command]);
                // The target: 1.3 x ceil(tenants / p) x one tenant's wall time.
                let target = 1.3 * args.tenants.div_ceil(p) as f64 * one_wall;
                line(
                    &format!("{} tenants, --parallel {p}", args.tenants),
                    &r,
                    Some(target),
                );
                ratios
                    .entry((command, p))
                    .or_default()
                    .push(r["wall"].as_f64().unwrap_or(0.0) / target * 1.3);
            }
            if args.repeat <= 1 {
                let p = args.parallel.iter().copied().max().unwrap_or(8);
                let half = run(&["--shard", "1/2", "--parallel", &p.to_string(), command]);
                let target = 1.3 * args.tenants.div_ceil(2).div_ceil(p) as f64 * one_wall;
                line(
                    &format!("{} tenants, --parallel {p}", args.tenants.div_ceil(2)),
                    &half,
                    Some(target),
                );
            }
        }
    }
    if args.repeat > 1 {
        println!(
            "vs target over {} rounds (min / median / max):",
            args.repeat
        );
        for ((command, p), mut v) in ratios {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "{command:<8} --parallel {p:<3} {:.2} / {:.2} / {:.2}",
                v[0],
                v[v.len() / 2],
                v[v.len() - 1]
            );
        }
    }
    println!(
        "(vs target: wall / (ceil(tenants / parallel) x one tenant's wall); the target is 1.30 or less."
    );
    println!(
        " cpu floor: (gwb's CPU + the emulator's CPU) / cores, the least wall time this machine allows)"
    );
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
