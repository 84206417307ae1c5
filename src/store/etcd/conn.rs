//! The connection to etcd, made on first use: a current-thread tokio runtime and a client,
//! each request bounded by a short timeout, so an unreachable etcd is a one-line error naming
//! it within seconds, never a hang.

use crate::error::{Error, Result};
use etcd_client::{
    Client, ConnectOptions, GetOptions, KvClient, LeaseClient, LeaseKeepAliveStream, LeaseKeeper,
    Txn, TxnResponse, WatchClient, WatchOptions, WatchStream,
};
use std::cell::{OnceCell, RefCell};
use std::future::Future;
use std::time::Duration;

/// How long a connection or a request may take before etcd counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One stored key with what the transactions compare.
#[derive(Debug, Clone)]
pub struct Kv {
    pub key: String,
    pub value: Vec<u8>,
    pub mod_revision: i64,
}

impl From<&etcd_client::KeyValue> for Kv {
    fn from(kv: &etcd_client::KeyValue) -> Self {
        Kv {
            key: String::from_utf8_lossy(kv.key()).into_owned(),
            value: kv.value().to_vec(),
            mod_revision: kv.mod_revision(),
        }
    }
}

struct Conn {
    rt: tokio::runtime::Runtime,
    kv: KvClient,
    watch: WatchClient,
    lease: LeaseClient,
}

/// An open watch of a key range (`Etcd::watch`).
pub struct Watch(WatchStream);

/// etcd at some endpoints; nothing is started before the first request.
pub struct Etcd {
    endpoints: Vec<String>,
    conn: OnceCell<Conn>,
    /// The open keep-alive stream of a lease (`keep_alive`).
    keeper: RefCell<Option<(i64, LeaseKeeper, LeaseKeepAliveStream)>>,
}

impl Etcd {
    pub fn new(endpoints: Vec<String>) -> Self {
        Etcd {
            endpoints,
            conn: OnceCell::new(),
            keeper: RefCell::new(None),
        }
    }

    /// The endpoints as the user gave them (`HOST:PORT,...`), for error messages.
    pub fn named(&self) -> String {
        self.endpoints
            .iter()
            .map(|e| e.trim_start_matches("http://"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn fail(&self, why: impl std::fmt::Display) -> Error {
        Error::runtime(format!("etcd at {}: {why}", self.named()))
    }

    fn conn(&self) -> Result<&Conn> {
        if let Some(c) = self.conn.get() {
            return Ok(c);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.fail(format!("cannot start its client: {e}")))?;
        let options = ConnectOptions::new()
            .with_connect_timeout(TIMEOUT)
            .with_timeout(TIMEOUT);
        let connect = Client::connect(self.endpoints.clone(), Some(options));
        let client = rt
            .block_on(async { tokio::time::timeout(TIMEOUT, connect).await })
            .map_err(|_| self.fail(format!("no answer within {} s", TIMEOUT.as_secs())))?
            .map_err(|e| self.fail(short(&e)))?;
        let _ = self.conn.set(Conn {
            rt,
            kv: client.kv_client(),
            watch: client.watch_client(),
            lease: client.lease_client(),
        });
        Ok(self.conn.get().expect("just set"))
    }

    /// Run one request with the timeout.
    fn call<T, F>(&self, request: impl FnOnce(KvClient) -> F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        let c = self.conn()?;
        let fut = request(c.kv.clone());
        c.rt.block_on(async { tokio::time::timeout(TIMEOUT, fut).await })
            .map_err(|_| self.fail(format!("no answer within {} s", TIMEOUT.as_secs())))?
            .map_err(|e| self.fail(short(&e)))
    }

    pub fn get(&self, key: &str) -> Result<Option<Kv>> {
        let key = key.to_string();
        let resp = self.call(|mut kv| async move { kv.get(key, None).await })?;
        Ok(resp.kvs().first().map(Kv::from))
    }

    /// Every key under a prefix, in key order.
    pub fn prefix(&self, prefix: &str) -> Result<Vec<Kv>> {
        let prefix = prefix.to_string();
        let resp = self.call(|mut kv| async move {
            kv.get(prefix, Some(GetOptions::new().with_prefix())).await
        })?;
        Ok(resp.kvs().iter().map(Kv::from).collect())
    }

    pub fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        self.call(|mut kv| async move { kv.txn(txn).await })
    }

    /// A new etcd lease of `ttl` seconds; its id.
    pub fn grant(&self, ttl: i64) -> Result<i64> {
        let c = self.conn()?;
        let mut lease = c.lease.clone();
        let fut = async move { lease.grant(ttl, None).await };
        c.rt.block_on(async { tokio::time::timeout(TIMEOUT, fut).await })
            .map_err(|_| self.fail(format!("no answer within {} s", TIMEOUT.as_secs())))?
            .map_err(|e| self.fail(short(&e)))
            .map(|r| r.id())
    }

    /// Renew a lease; false when etcd no longer has it (it expired). One keep-alive stream
    /// per lease, opened on first use and again after a failure.
    pub fn keep_alive(&self, id: i64) -> Result<bool> {
        let c = self.conn()?;
        let mut kept = self.keeper.borrow_mut();
        let mut open = kept.take().filter(|(held, _, _)| *held == id);
        let renew = async {
            match &mut open {
                Some((_, keeper, stream)) => {
                    keeper.keep_alive().await?;
                    Ok(stream.message().await?.is_some_and(|r| r.ttl() > 0))
                }
                // Opening the stream renews the lease once and reads that answer itself
                // (an expired lease is an error): there is no second answer to wait for.
                None => {
                    let (keeper, stream) = c.lease.clone().keep_alive(id).await?;
                    open = Some((id, keeper, stream));
                    Ok(true)
                }
            }
        };
        let alive = match c
            .rt
            .block_on(async { tokio::time::timeout(TIMEOUT, renew).await })
        {
            Err(_) => return Err(self.fail(format!("no answer within {} s", TIMEOUT.as_secs()))),
            Ok(Err(e)) if short(&e).contains("lease not found") => return Ok(false),
            Ok(Err(e)) => return Err(self.fail(short(&e))),
            Ok(Ok(alive)) => alive,
        };
        if alive {
            *kept = open;
        }
        Ok(alive)
    }

    /// Watch every key under a prefix from now on.
    pub fn watch(&self, prefix: &str) -> Result<Watch> {
        let c = self.conn()?;
        let mut client = c.watch.clone();
        let prefix = prefix.to_string();
        let open = async move {
            let options = WatchOptions::new().with_prefix();
            tokio::time::timeout(TIMEOUT, client.watch(prefix, Some(options))).await
        };
        let stream =
            c.rt.block_on(open)
                .map_err(|_| self.fail(format!("no answer within {} s", TIMEOUT.as_secs())))?
                .map_err(|e| self.fail(short(&e)))?;
        Ok(Watch(stream))
    }

    /// Wait until a watched key for which `wanted` holds changes, or `timeout` passes.
    pub fn wait(
        &self,
        w: &mut Watch,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<()> {
        let c = self.conn()?;
        c.rt.block_on(async {
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let resp = match tokio::time::timeout_at(deadline, w.0.message()).await {
                    Err(_) => return Ok(()),
                    Ok(Err(e)) => return Err(self.fail(short(&e))),
                    Ok(Ok(None)) => return Err(self.fail("the watch was closed")),
                    Ok(Ok(Some(resp))) => resp,
                };
                let hit = resp.events().iter().any(|e| {
                    e.kv()
                        .is_some_and(|kv| wanted(&String::from_utf8_lossy(kv.key())))
                });
                if hit {
                    return Ok(());
                }
            }
        })
    }
}

/// A client error in one line: gRPC's message without its metadata dump, or a transport
/// error with its root cause (`tcp connect error: Connection refused (os error 111)`).
fn short(e: &etcd_client::Error) -> String {
    if let etcd_client::Error::GRpcStatus(s) = e {
        return s.message().to_string();
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text.lines().next().unwrap_or_default().to_string()
}
