//! Read-only SQL checks on the current leader: only SELECT, SHOW or EXPLAIN, one statement, run
//! inside a READ ONLY transaction as a second guard. Also finds the leader for other effects.

use super::{Ctx, Report};
use crate::sources::postgres::pg_config;

/// Accepts one SELECT/SHOW/EXPLAIN statement; names what is refused.
pub fn read_only_query(query: &str) -> Result<(), String> {
    let q = query.trim().trim_end_matches(';').trim();
    if q.contains(';') {
        return Err("only one statement is allowed".into());
    }
    let first = q.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    let explain_analyze = first == "EXPLAIN"
        && q.to_ascii_uppercase().split_whitespace().nth(1).is_some_and(|w| w.starts_with("ANALY") || w.starts_with('('));
    match first.as_str() {
        "SELECT" | "SHOW" if !q.to_ascii_uppercase().contains(" INTO ") => Ok(()),
        "EXPLAIN" if !explain_analyze => Ok(()),
        _ => Err(format!(
            "`{}` is not a read-only query (SELECT, SHOW or EXPLAIN without ANALYZE)",
            crate::sanitize::sanitize_bounded(q, 60)
        )),
    }
}

/// A client on the member that is not in recovery, for `database`; also its member name.
pub async fn leader_client(ctx: &Ctx, database: &str) -> Result<(String, tokio_postgres::Client, tokio_postgres::Config), String> {
    let mut errors = Vec::new();
    for m in &ctx.config.postgres.members {
        let mut cfg = pg_config(&m.dsn, ctx.timeout)?;
        let probe = async {
            let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let row = client.query_one("select pg_is_in_recovery()", &[]).await.map_err(|e| e.to_string())?;
            Ok::<bool, String>(row.get(0))
        };
        match tokio::time::timeout(ctx.timeout, probe).await {
            Ok(Ok(false)) => {
                if !database.is_empty() {
                    cfg.dbname(database);
                }
                let (client, conn) =
                    cfg.connect(tokio_postgres::NoTls).await.map_err(|e| format!("{} database {database}: {e}", m.name))?;
                tokio::spawn(conn);
                return Ok((m.name.clone(), client, cfg));
            }
            Ok(Ok(true)) => {}
            Ok(Err(e)) => errors.push(format!("{}: {e}", m.name)),
            Err(_) => errors.push(format!("{}: no answer", m.name)),
        }
    }
    Err(format!("no Postgres member accepts writes ({}); check [postgres] members in sitrep.toml", errors.join("; ")))
}

pub async fn check(ctx: &Ctx, database: &str, query: &str, expect: &str) -> Result<Report, String> {
    read_only_query(query)?;
    let (leader, client, _) = leader_client(ctx, database).await?;
    client.batch_execute("BEGIN READ ONLY").await.map_err(|e| e.to_string())?;
    let rows = client.simple_query(query).await.map_err(|e| format!("{query}: {e}"));
    let _ = client.batch_execute("ROLLBACK").await;
    let first = rows?
        .into_iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .unwrap_or_default();
    if !expect.is_empty() && first != expect {
        return Err(format!("{query} on {leader} gave `{first}`, expected `{expect}`"));
    }
    Ok(Report::text(format!("{query} on {leader}: {first}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_statements_pass() {
        assert!(read_only_query("SELECT count(*) FROM orders").is_ok());
        assert!(read_only_query("show server_version;").is_ok());
        assert!(read_only_query("EXPLAIN SELECT 1").is_ok());
        assert!(read_only_query("EXPLAIN ANALYZE DELETE FROM orders").is_err());
        assert!(read_only_query("DELETE FROM orders").is_err());
        assert!(read_only_query("SELECT 1; DROP TABLE orders").is_err());
        assert!(read_only_query("SELECT * INTO copy FROM orders").is_err());
    }
}
