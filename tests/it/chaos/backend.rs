//! The server's database in the chaos test, and restoring it from an older copy: a SQLite
//! file (with its `-wal` and `-shm`), or a PostgreSQL database of its own copied with
//! `CREATE DATABASE … TEMPLATE`. Copies are taken and put back only while the server is down.

use std::path::PathBuf;
use std::time::Duration;

pub enum Backend {
    Sqlite {
        db: PathBuf,
        snapshot: PathBuf,
    },
    Postgres {
        /// The URL up to the database name (`postgres://user@host:port`).
        prefix: String,
        /// The test's own database, and its copy.
        live: String,
        snapshot: String,
    },
}

const SQLITE_FILES: [&str; 3] = ["", "-wal", "-shm"];

fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl Backend {
    pub fn sqlite(dir: &std::path::Path) -> Backend {
        Backend::Sqlite { db: dir.join("server.db"), snapshot: dir.join("server-snapshot.db") }
    }

    /// A fresh database of its own on the PostgreSQL server `base_url` names.
    pub async fn postgres(base_url: &str) -> Backend {
        let (prefix, _) = base_url.rsplit_once('/').expect("a PostgreSQL URL ends with /DATABASE");
        let live = format!("tillbook_chaos_{}", uuid::Uuid::now_v7().simple());
        let backend = Backend::Postgres { prefix: prefix.to_string(), snapshot: format!("{live}_snap"), live };
        let Backend::Postgres { live, .. } = &backend else { unreachable!() };
        backend.maintenance().await.batch_execute(&format!("CREATE DATABASE {live}")).await.unwrap();
        backend
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// What `chaos_server --database` takes.
    pub fn url(&self) -> String {
        match self {
            Backend::Sqlite { db, .. } => format!("sqlite:{}", db.display()),
            Backend::Postgres { prefix, live, .. } => format!("{prefix}/{live}"),
        }
    }

    /// A connection to the `postgres` maintenance database.
    async fn maintenance(&self) -> tokio_postgres::Client {
        let Backend::Postgres { prefix, .. } = self else { unreachable!("PostgreSQL only") };
        let (client, conn) = tokio_postgres::connect(&format!("{prefix}/postgres"), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {prefix}/postgres: {e}"));
        tokio::spawn(conn);
        client
    }

    /// Copies the database aside. The server must be down.
    pub async fn snapshot(&self) {
        match self {
            Backend::Sqlite { db, snapshot } => {
                for suffix in SQLITE_FILES {
                    let (from, to) = (with_suffix(db, suffix), with_suffix(snapshot, suffix));
                    if from.exists() {
                        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
                    }
                }
            }
            Backend::Postgres { live, snapshot, .. } => {
                let client = self.maintenance().await;
                copy_database(&client, live, snapshot).await;
            }
        }
    }

    /// Puts the copy back in place of the database. The server must be down.
    pub async fn restore(&self) {
        match self {
            Backend::Sqlite { db, snapshot } => {
                for suffix in SQLITE_FILES {
                    let _ = std::fs::remove_file(with_suffix(db, suffix));
                }
                for suffix in SQLITE_FILES {
                    let (from, to) = (with_suffix(snapshot, suffix), with_suffix(db, suffix));
                    if from.exists() {
                        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
                    }
                }
            }
            Backend::Postgres { live, snapshot, .. } => {
                let client = self.maintenance().await;
                disconnect(&client, live).await;
                client.batch_execute(&format!("DROP DATABASE {live}")).await.unwrap();
                copy_database(&client, snapshot, live).await;
            }
        }
    }

    /// Drops the PostgreSQL databases (best effort); SQLite files go with the temporary directory.
    pub async fn cleanup(&self) {
        if let Backend::Postgres { live, snapshot, .. } = self {
            let client = self.maintenance().await;
            for db in [live, snapshot] {
                disconnect(&client, db).await;
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).await;
            }
        }
    }
}

/// Ends every session on `db` (a killed server's may linger a moment).
async fn disconnect(client: &tokio_postgres::Client, db: &str) {
    client
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&db])
        .await
        .unwrap();
}

/// `CREATE DATABASE to TEMPLATE from`, retried while `from` still has sessions.
async fn copy_database(client: &tokio_postgres::Client, from: &str, to: &str) {
    for attempt in 0.. {
        disconnect(client, from).await;
        match client.batch_execute(&format!("CREATE DATABASE {to} TEMPLATE {from}")).await {
            Ok(()) => return,
            Err(e) if attempt < 50 => {
                eprintln!("chaos: CREATE DATABASE {to} TEMPLATE {from}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("CREATE DATABASE {to} TEMPLATE {from}: {e}"),
        }
    }
}
