//! What people see on a terminal (issue 15, items 2 and 3): the report table at 80 columns, the
//! pager. Run under script(1), which gives gwb a pseudo-terminal of a set size.

use crate::support::{Scenario, TOKEN, gwb_command};

/// gwb on a pseudo-terminal `cols` wide, its screen as text (CR LF made LF).
async fn on_a_terminal(s: &Scenario, cols: u16, env: &[(&str, &str)], args: &str) -> String {
    let mut cmd = gwb_command();
    let line = format!(
        "stty cols {cols} rows 60; {} {args} 2>/dev/null",
        env!("CARGO_BIN_EXE_gwb")
    );
    cmd.env("GWB_GRAPH_URL", s.emu.url())
        .env("GWB_ACCESS_TOKEN", TOKEN)
        .env("XDG_STATE_HOME", &s.state)
        .env("GWB_LOCK_DIR", s.lock_dir());
    let mut script = std::process::Command::new("script");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    for (k, v) in env {
        script.env(k, v);
    }
    script.args(["-qec", &line, "/dev/null"]);
    let out = tokio::task::spawn_blocking(move || script.output().expect("script(1) runs"))
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

fn width(line: &str) -> usize {
    line.chars()
        .map(|c| {
            if ('\u{1100}'..='\u{ffdc}').contains(&c) && !c.is_ascii() && c > '\u{2fff}' {
                2
            } else {
                1
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_table_fits_80_columns_one_line_a_group_name_first() {
    let s = Scenario::groups(40, 3).await;
    let screen = on_a_terminal(&s, 80, &[("GWB_PAGER", "cat")], "report -o table").await;
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("WRITTEN BACK"),
        "{screen}"
    );
    assert!(
        !lines[0].contains("ID"),
        "the id is behind --wide: {}",
        lines[0]
    );
    let table: Vec<&&str> = lines.iter().take_while(|l| !l.is_empty()).collect();
    assert_eq!(table.len(), 41, "a header and one line per group: {screen}");
    for l in &lines {
        assert!(width(l) <= 80, "{} columns: {l}", width(l));
    }
    for l in table.iter().skip(1) {
        let cells: Vec<&str> = l.split("  ").filter(|c| !c.trim().is_empty()).collect();
        assert!(
            cells.iter().any(|c| c.trim() == "yes" || c.trim() == "no"),
            "a plain written-back column: {l}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wide_shows_the_ids() {
    let s = Scenario::groups(5, 3).await;
    let screen = on_a_terminal(&s, 200, &[("GWB_PAGER", "cat")], "report -o table --wide").await;
    let id = s.emu.shared().tenant().groups[0].id.clone();
    assert!(screen.lines().next().unwrap().contains("ID"), "{screen}");
    assert!(screen.contains(&id), "{screen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_the_report_goes_through_the_pager() {
    let s = Scenario::groups(5, 3).await;
    let pager = [("GWB_PAGER", "sed -e s/^/PAGED:/")];
    let screen = on_a_terminal(&s, 100, &pager, "report -o table").await;
    assert!(screen.lines().all(|l| l.starts_with("PAGED:")), "{screen}");
    let plain = on_a_terminal(&s, 100, &pager, "--no-pager report -o table").await;
    assert!(!plain.contains("PAGED:"), "{plain}");
    assert!(plain.starts_with("NAME"), "{plain}");
}

#[tokio::test(flavor = "multi_thread")]
async fn piped_output_never_goes_through_the_pager() {
    let s = Scenario::groups(5, 3).await;
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", s.emu.url())
        .env("GWB_ACCESS_TOKEN", TOKEN)
        .env("GWB_PAGER", "sed -e s/^/PAGED:/")
        .args(["report", "-o", "table"]);
    let out = crate::support::run(cmd).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("NAME") && !text.contains("PAGED:"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_may_ask_is_never_paged() {
    let s = Scenario::groups(5, 3).await;
    let pager = [("GWB_PAGER", "sed -e s/^/PAGED:/")];
    let screen = on_a_terminal(&s, 100, &pager, "set-default false --dry-run -o table").await;
    assert!(!screen.contains("PAGED:"), "{screen}");
}
