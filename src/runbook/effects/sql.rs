//! Read-only SQL checks on the current leader: only SELECT, SHOW or EXPLAIN, one statement, run
//! inside a READ ONLY transaction as a second guard. Also finds the leader for other effects.

use super::{Ctx, EffectError, Report, input, not_ready};
use crate::backends::postgres as backend;

/// Accepts one SELECT/SHOW/EXPLAIN statement; names what is refused.
pub fn read_only_query(query: &str) -> Result<(), EffectError> {
    let q = query.trim().trim_end_matches(';').trim();
    if q.contains(';') {
        return Err(input("only one statement is allowed"));
    }
    let first = q.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    let explain_analyze = first == "EXPLAIN"
        && q.to_ascii_uppercase().split_whitespace().nth(1).is_some_and(|w| w.starts_with("ANALY") || w.starts_with('('));
    match first.as_str() {
        "SELECT" | "SHOW" if !q.to_ascii_uppercase().contains(" INTO ") => Ok(()),
        "EXPLAIN" if !explain_analyze => Ok(()),
        _ => Err(input(format!(
            "`{}` is not a read-only query (SELECT, SHOW or EXPLAIN without ANALYZE)",
            crate::sanitize::sanitize_bounded(q, 60)
        ))),
    }
}

/// A client on the member that is not in recovery, for `database`; also its member name.
pub async fn leader_client(ctx: &Ctx, database: &str) -> Result<(String, tokio_postgres::Client, backend::PgConfig), EffectError> {
    let members = ctx.config.postgres.members.iter().map(|m| (m.name.as_str(), m.dsn.as_str()));
    Ok(backend::leader(members, database, ctx.timeout).await?)
}

pub async fn check(ctx: &Ctx, database: &str, query: &str, expect: &str) -> Result<Report, EffectError> {
    read_only_query(query)?;
    let (leader, client, _) = leader_client(ctx, database).await?;
    client.batch_execute("BEGIN READ ONLY").await.map_err(|e| backend::query_error(&leader, &e))?;
    let rows = client.simple_query(query).await.map_err(|e| backend::query_error(&format!("{leader}: {query}"), &e));
    let _ = client.batch_execute("ROLLBACK").await;
    let first = rows?
        .into_iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .unwrap_or_default();
    if !expect.is_empty() && first != expect {
        return Err(not_ready(format!("{query} on {leader} gave `{first}`, expected `{expect}`")));
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
