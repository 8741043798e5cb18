//! A loopback TCP proxy whose answers can be delayed: the `network-slow` fault.
//! It sits in front of Sentinel 0 from the start, so turning the delay on needs no restart; it
//! forwards bytes, so the Sentinel's TLS passes through it untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Delay added to every chunk the upstream sends back, in milliseconds.
#[derive(Debug, Default)]
pub struct ProxyDelay(pub AtomicU64);

impl ProxyDelay {
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::Relaxed);
    }
}

/// Accepts on `listener` and forwards to `upstream` until the task is dropped.
pub async fn serve(listener: TcpListener, upstream: String, delay: Arc<ProxyDelay>) {
    while let Ok((client, _)) = listener.accept().await {
        let (upstream, delay) = (upstream.clone(), delay.clone());
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(&upstream).await {
                forward(client, server, delay).await;
            }
        });
    }
}

async fn forward(client: TcpStream, server: TcpStream, delay: Arc<ProxyDelay>) {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let up = async move {
        let _ = tokio::io::copy(&mut client_rx, &mut server_tx).await;
        let _ = server_tx.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let ms = delay.0.load(Ordering::Relaxed);
            let mut answer = buf[..n].to_vec();
            if ms > 0 {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                // One delay per answer, not per TCP segment: what arrived meanwhile (the rest of a
                // TLS flight, a session ticket) goes with it, so TLS costs a delay per round trip.
                while let Ok(more) = server_rx.try_read(&mut buf) {
                    if more == 0 {
                        break;
                    }
                    answer.extend_from_slice(&buf[..more]);
                }
            }
            if client_tx.write_all(&answer).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(up, down);
}
