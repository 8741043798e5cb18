"""The lab's Celery app (written to DIR/celery/labapp.py by `sitrep lab`): the shop's three task
queues on the Sentinels' master, a producer at the lab's rates and the tasks a real worker runs.

broker.json beside this file says where the broker is (written by src/lab/celery.rs):
  sentinels        ["host:port", ...]  the Sentinels, asked for the master of `master_name`
  master_name      the Sentinels' name for the master
  username/password   the master's ACL login (null: none)
  sentinel_username/sentinel_password   the Sentinels' own login (null: none)
  ca_file          PEM CA bundle: TLS to the Sentinels and the master (null: plain TCP)
  task_seconds     how long each task sleeps (sets the worker's drain rate)
  base_rates       tasks per second per queue at multiplier 1
"""

import json
import os
import ssl
import sys
import time
from urllib.parse import quote

from celery import Celery

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "broker.json"), encoding="utf-8") as f:
    BROKER = json.load(f)

QUEUES = {
    "celery": "shop.tasks.process_order",
    "emails": "shop.tasks.send_receipt_email",
    "reports": "shop.tasks.build_sales_report",
}
# kombu's default priority steps; the producer cycles through them so every list is used.
PRIORITIES = [0, 3, 6, 9]


def broker_url(b):
    """One sentinel:// URL per Sentinel, joined by ';' (kombu's failover list)."""
    auth = ""
    if b.get("password"):
        user = quote(b.get("username") or "", safe="")
        auth = user + ":" + quote(b["password"], safe="") + "@"
    return ";".join(f"sentinel://{auth}{addr}/0" for addr in b["sentinels"])


def transport_options(b):
    sentinel_kwargs = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if b.get("sentinel_password"):
        sentinel_kwargs["password"] = b["sentinel_password"]
        if b.get("sentinel_username"):
            sentinel_kwargs["username"] = b["sentinel_username"]
    if b.get("ca_file"):
        sentinel_kwargs.update({"ssl": True, "ssl_ca_certs": b["ca_file"], "ssl_cert_reqs": ssl.CERT_REQUIRED})
    return {
        "master_name": b["master_name"],
        "sentinel_kwargs": sentinel_kwargs,
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
    }


app = Celery("labapp", broker=broker_url(BROKER))
app.conf.update(
    broker_transport_options=transport_options(BROKER),
    # TLS to the master the Sentinels name (kombu then uses SentinelManagedSSLConnection).
    broker_use_ssl={"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": BROKER["ca_file"]} if BROKER.get("ca_file") else None,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    # The message stays in kombu's `unacked` hash while the task runs.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_routes={task: {"queue": queue} for queue, task in QUEUES.items()},
    worker_hijack_root_logger=False,
)

TASK_SECONDS = float(BROKER.get("task_seconds", 0.05))


@app.task(name="shop.tasks.process_order")
def process_order(order_id):
    time.sleep(TASK_SECONDS)


@app.task(name="shop.tasks.send_receipt_email")
def send_receipt_email(order_id):
    time.sleep(TASK_SECONDS)


@app.task(name="shop.tasks.build_sales_report")
def build_sales_report(order_id):
    time.sleep(TASK_SECONDS)


def multiplier(path):
    """The rate multiplier the supervisor writes (`queue-flood`: 100, `heal`: 1)."""
    try:
        with open(path, encoding="utf-8") as f:
            return max(0, int(f.read().strip() or "1"))
    except (OSError, ValueError):
        return 1


def produce(rate_file, fill, ready_file):
    """Sends `fill` tasks per queue, marks `ready_file`, then sends at the base rates forever."""
    n = 0

    def send(queue):
        nonlocal n
        app.send_task(QUEUES[queue], args=[1000 + n % 50000], queue=queue, priority=PRIORITIES[n % len(PRIORITIES)])
        n += 1

    for queue in QUEUES:
        for _ in range(fill):
            send(queue)
    with open(ready_file, "w", encoding="utf-8") as f:
        f.write(f"{fill}\n")
    print(f"producer: {fill} tasks on each of {', '.join(QUEUES)}", flush=True)
    rates = dict(zip(QUEUES, BROKER["base_rates"]))
    owed = dict.fromkeys(QUEUES, 0.0)
    tick = 0.1
    next_tick = time.monotonic()
    while True:
        next_tick += tick
        time.sleep(max(0.0, next_tick - time.monotonic()))
        mult = multiplier(rate_file)
        try:
            for queue in QUEUES:
                owed[queue] += rates[queue] * mult * tick
                while owed[queue] >= 1:
                    send(queue)
                    owed[queue] -= 1
        except Exception as e:  # a failover: the next send asks the Sentinels again
            print(f"producer: send failed ({type(e).__name__}: {e}); retrying", flush=True)
            owed = dict.fromkeys(QUEUES, 0.0)
            time.sleep(0.5)
            next_tick = time.monotonic()


def sizes():
    """kombu's own count per queue (`_size` sums the priority lists; `lists` by step) and its
    `unacked` hash (the messages a worker holds until it acks)."""
    with app.connection() as conn:
        channel = conn.default_channel
        out = {}
        for queue in QUEUES:
            lists = {str(p): channel.client.llen(channel._q_for_pri(queue, p)) for p in channel.priority_steps}
            out[queue] = {"size": channel._size(queue), "lists": lists}
        out["unacked"] = channel.client.hlen(channel.unacked_key)
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["produce"]:
        produce(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1:2] == ["sizes"]:
        print(json.dumps(sizes()))
    else:
        sys.exit("usage: labapp.py produce RATE_FILE FILL READY_FILE | sizes")
