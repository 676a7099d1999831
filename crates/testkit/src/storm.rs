//! Load and inspection for crash tests: senders that keep posting and remember what was
//! acknowledged, and direct SQL on nightwatch's database to count what is really stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::blocking::Client;
use sqlx::AnyPool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Direct SQL access to nightwatch's database, for checking what is really stored.
pub struct Db {
    rt: tokio::runtime::Runtime,
    pool: AnyPool,
}

impl Db {
    pub fn connect(url: &str) -> Db {
        sqlx::any::install_default_drivers();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pool = rt
            .block_on(
                sqlx::any::AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(url),
            )
            .unwrap();
        Db { rt, pool }
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.rt
            .block_on(sqlx::query_scalar(sql).fetch_one(&self.pool))
            .unwrap()
    }

    pub fn rows<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Vec<sqlx::any::AnyRow> {
        self.rt.block_on(query.fetch_all(&self.pool)).unwrap()
    }

    pub fn exec(&self, sql: &str) {
        self.rt
            .block_on(sqlx::query(sql).execute(&self.pool))
            .unwrap();
    }
}

/// `senders` threads posting, each post with a fresh sequence number, until stopped.
/// `post` sends one and says whether it was acknowledged.
pub struct Storm {
    acked: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    senders: Vec<std::thread::JoinHandle<()>>,
}

impl Storm {
    pub fn start<F>(url: String, senders: usize, post: F) -> Storm
    where
        F: Fn(&Client, &str, u64) -> bool + Clone + Send + 'static,
    {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let senders = (0..senders)
            .map(|_| {
                let (acked, next, stop, url, post) = (
                    acked.clone(),
                    next.clone(),
                    stop.clone(),
                    url.clone(),
                    post.clone(),
                );
                std::thread::spawn(move || {
                    let client = Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap();
                    while !stop.load(Ordering::SeqCst) {
                        let seq = next.fetch_add(1, Ordering::SeqCst);
                        if post(&client, &url, seq) {
                            acked.lock().unwrap().push(seq);
                        }
                    }
                })
            })
            .collect();
        Storm {
            acked,
            stop,
            senders,
        }
    }

    pub fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Stops the senders (each finishes its post) and returns what was acknowledged.
    pub fn stop(self) -> Vec<u64> {
        self.stop.store(true, Ordering::SeqCst);
        for sender in self.senders {
            sender.join().unwrap();
        }
        self.acked.lock().unwrap().clone()
    }
}
