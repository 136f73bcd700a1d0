"""A real Python Celery 5 peer for DeviceVault's AMQP bus tests.

As a worker module (`celery -A celery_peer worker -Q <queue> --pool=solo`) it
runs `storage.store` (writes what it got to $CELERY_PEER_DIR/<task id>.json)
and `storage.read` (returns its kwargs, or raises ValueError when asked to).

As a script it is a client:
  python celery_peer.py send <queue> <payload json> [countdown seconds]
      sends storage.store with the payload as its one argument; prints the id
  python celery_peer.py call <queue> <kwargs json>
      sends storage.read and waits (60 s) on the rpc:// backend; prints
      {"id", "result"} or {"id", "error", "message"} as one JSON line
"""

import json
import os
import sys

from celery import Celery

BROKER = os.environ.get(
    "DEVICEVAULT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"
)

app = Celery("celery_peer", broker=BROKER, backend="rpc://")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="storage.store", bind=True)
def store(self, payload):
    out = os.path.join(os.environ["CELERY_PEER_DIR"], f"{self.request.id}.json")
    seen = {
        "id": self.request.id,
        "args": [payload],
        "retries": self.request.retries,
        "reply_to": self.request.reply_to,
    }
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(seen, f)
    os.rename(tmp, out)
    return "stored"


@app.task(name="storage.read")
def read(**kwargs):
    if kwargs.get("fail"):
        raise ValueError(kwargs["fail"])
    return {"content": "read by python", "kwargs": kwargs}


def main(argv):
    command, queue = argv[1], argv[2]
    if command == "send":
        payload = json.loads(argv[3])
        countdown = float(argv[4]) if len(argv) > 4 else None
        r = app.send_task("storage.store", args=[payload], queue=queue, countdown=countdown)
        print(r.id, flush=True)
    elif command == "call":
        kwargs = json.loads(argv[3])
        r = app.send_task("storage.read", kwargs=kwargs, queue=queue)
        try:
            out = {"id": r.id, "result": r.get(timeout=60)}
        except Exception as e:  # the point is to report what was raised
            out = {"id": r.id, "error": type(e).__name__, "message": str(e)}
        print(json.dumps(out), flush=True)
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv)
