//! Graph that stalls, trickles or cannot be reached ends the run in bounded time, naming the cause.

use crate::support::{bounded, stderr};

/// A server that accepts connections and then says nothing (`trickle`: sends a status line and
/// headers, then one byte of body every 50 ms, for ever).
async fn stalling_server(trickle: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if trickle {
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")
                        .await;
                    for _ in 0..2_000 {
                        if sock.write_all(b" ").await.is_err() {
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                } else {
                    // Hold the connection open, silent, until the client goes away.
                    let _ = sock.read(&mut buf).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

mod slow {
    #[allow(unused_imports)]
    use super::*;

    /// C12: a silent or trickling server, or a run past its deadline, ends with a message that
    /// names the stall, in bounded time.
    /// (Issue 12, item C12.)
    #[tokio::test(flavor = "multi_thread")]
    async fn silent_and_trickling_servers_and_the_deadline_end_the_run() {
        let silent = stalling_server(false).await;
        let out = bounded(
            &silent,
            &[
                "report",
                "-o",
                "json",
                "--read-timeout",
                "0.2",
                "--request-timeout",
                "5",
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("stopped answering"),
            "{}",
            stderr(&out)
        );

        let trickle = stalling_server(true).await;
        let out = bounded(
            &trickle,
            &[
                "report",
                "-o",
                "json",
                "--read-timeout",
                "5",
                "--request-timeout",
                "0.3",
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("stopped answering"),
            "{}",
            stderr(&out)
        );

        let out = bounded(&silent, &["report", "-o", "json", "--deadline", "0.5"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("deadline of 0.5 s"),
            "{}",
            stderr(&out)
        );

        let out = bounded(&silent, &["report", "--deadline", "1e20"]).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }

    /// Item 5: Graph that cannot be reached at all fails fast, naming the host.
    /// (Issue 13.)
    #[tokio::test(flavor = "multi_thread")]
    async fn an_unreachable_graph_fails_fast_with_the_host() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let out = bounded("http://127.0.0.1:1", &["report", "-o", "json"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("cannot reach http://127.0.0.1:1"), "{err}");
        assert!(err.contains("graph_url"), "{err}");
        // Report reads three things at once; each is tried at most 3 times (2 retry lines), a
        // second or two apart, instead of 10 times with backoff up to a minute.
        for p in ["/beta/groups", "/beta/settings"] {
            let retries = err
                .lines()
                .filter(|l| l.contains("trying again") && l.contains(&format!("GET {p}:")))
                .count();
            assert!(retries <= 2, "{p}: {retries} retry lines: {err}");
        }
    }
}
