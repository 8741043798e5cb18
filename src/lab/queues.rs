//! Celery traffic on the Redis master: a producer LPUSHes kombu-format task messages and a
//! consumer BRPOPs them (keeping kombu's `unacked` hash), both following the Sentinels' master.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine;
use serde_json::json;

use super::info::QUEUE_NAMES;

/// Producer and consumer rates, shared with the control channel (faults change them).
#[derive(Debug)]
pub struct QueueTraffic {
    /// Messages per second per queue at multiplier 1, in QUEUE_NAMES order.
    pub base_rates: [u32; 3],
    /// `queue-flood` sets this to 100.
    pub multiplier: AtomicU32,
    /// Messages per second the consumer handles across all queues.
    pub consume_rate: AtomicU32,
}

impl Default for QueueTraffic {
    fn default() -> Self {
        QueueTraffic { base_rates: [4, 2, 1], multiplier: AtomicU32::new(1), consume_rate: AtomicU32::new(8) }
    }
}

const TASKS: [&str; 3] = ["shop.tasks.process_order", "shop.tasks.send_receipt_email", "shop.tasks.build_sales_report"];

/// One Celery task message exactly as kombu's Redis transport stores it.
pub fn kombu_message(queue: &str, n: u64) -> String {
    let index = QUEUE_NAMES.iter().position(|q| *q == queue).unwrap_or(0);
    let task = TASKS[index];
    let id = uuid::Uuid::new_v4().to_string();
    let args = json!([1000 + n % 50000]);
    let kwargs = json!({"attempt": 1});
    let body = json!([args, kwargs, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]);
    let body = base64::engine::general_purpose::STANDARD.encode(body.to_string());
    json!({
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task, "id": id, "shadow": null, "eta": null, "expires": null,
            "group": null, "group_index": null, "retries": 0, "timelimit": [null, null],
            "root_id": id, "parent_id": null, "argsrepr": args.to_string(), "kwargsrepr": kwargs.to_string(),
            "origin": "gen42@shop-api-7d9f8c6b5-x2x7q", "ignore_result": false,
            "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {},
        },
        "properties": {
            "correlation_id": id, "reply_to": uuid::Uuid::new_v4().to_string(), "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": uuid::Uuid::new_v4().to_string(),
        },
    })
    .to_string()
}

// The Sentinels and how to log in (TLS, ACL user): `super::redis::RedisLogins::sentinel_settings`.
use super::redis::master_connection;
use crate::backends::redis::SentinelSettings;

/// Pushes `initial` messages on each queue so the console has depth to show at once.
pub async fn fill(sentinels: &SentinelSettings, initial: u64) -> redis::RedisResult<()> {
    let Some(mut con) = master_connection(sentinels).await else {
        return Err(redis::RedisError::from((redis::ErrorKind::Io, "no Redis master reported by the Sentinels")));
    };
    for queue in QUEUE_NAMES {
        let msgs: Vec<String> = (0..initial).map(|n| kombu_message(queue, n)).collect();
        redis::cmd("LPUSH").arg(queue).arg(msgs).query_async::<()>(&mut con).await?;
    }
    Ok(())
}

/// LPUSHes messages ten times a second at the configured rates, forever.
pub async fn produce_forever(sentinels: SentinelSettings, traffic: Arc<QueueTraffic>) {
    let mut con = None;
    let mut n: u64 = 0;
    let mut owed = [0f64; 3];
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if con.is_none() {
            con = master_connection(&sentinels).await;
        }
        let Some(c) = con.as_mut() else { continue };
        let mult = traffic.multiplier.load(Ordering::Relaxed).max(1);
        let mut pipe = redis::pipe();
        for (i, queue) in QUEUE_NAMES.iter().enumerate() {
            owed[i] += f64::from(traffic.base_rates[i] * mult) / 10.0;
            let count = owed[i].floor() as u64;
            owed[i] -= count as f64;
            if count > 0 {
                let msgs: Vec<String> = (0..count).map(|k| kombu_message(queue, n + k)).collect();
                n += count;
                pipe.cmd("LPUSH").arg(*queue).arg(msgs).ignore();
            }
        }
        if pipe.query_async::<()>(c).await.is_err() {
            con = None;
        }
    }
}

/// BRPOPs messages as a Celery worker does, acknowledging each after "processing" it.
pub async fn consume_forever(sentinels: SentinelSettings, traffic: Arc<QueueTraffic>) {
    let mut con = None;
    loop {
        if con.is_none() {
            con = master_connection(&sentinels).await;
            if con.is_none() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        }
        let Some(c) = con.as_mut() else { continue };
        let popped: redis::RedisResult<Option<(String, String)>> = redis::cmd("BRPOP").arg(&QUEUE_NAMES[..]).arg(1).query_async(c).await;
        match popped {
            Ok(Some((queue, msg))) => {
                if ack(c, &queue, &msg).await.is_err() {
                    con = None;
                }
                let rate = traffic.consume_rate.load(Ordering::Relaxed).max(1);
                tokio::time::sleep(Duration::from_millis(1000 / u64::from(rate))).await;
            }
            Ok(None) => {}
            Err(_) => con = None,
        }
    }
}

/// Records the message in kombu's `unacked` hash and index while it "runs", then removes it.
async fn ack(con: &mut redis::aio::MultiplexedConnection, queue: &str, msg: &str) -> redis::RedisResult<()> {
    let tag = serde_json::from_str::<serde_json::Value>(msg)
        .ok()
        .and_then(|v| v["properties"]["delivery_tag"].as_str().map(String::from))
        .unwrap_or_default();
    let entry = json!([msg, "", queue]).to_string();
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    redis::pipe().hset("unacked", &tag, entry).ignore().zadd("unacked_index", &tag, now).ignore().query_async::<()>(con).await?;
    redis::pipe().hdel("unacked", &tag).ignore().zrem("unacked_index", &tag).ignore().query_async(con).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_kombu_envelope_and_a_decodable_body() {
        let msg: serde_json::Value = serde_json::from_str(&kombu_message("emails", 7)).expect("json");
        assert_eq!(msg["headers"]["lang"], "py");
        assert_eq!(msg["headers"]["task"], "shop.tasks.send_receipt_email");
        assert_eq!(msg["properties"]["delivery_info"]["routing_key"], "emails");
        let body = base64::engine::general_purpose::STANDARD.decode(msg["body"].as_str().unwrap_or("")).expect("base64");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("body json");
        assert!(body[2].get("chord").is_some(), "{body}");
    }
}
