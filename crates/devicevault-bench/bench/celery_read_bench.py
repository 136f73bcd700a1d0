"""`storage.read` from a Python Celery 5 client: DeviceVault's storage worker
against Python Celery workers that read with GitPython.

`devicevault bench distributed` writes this file into its work directory and
runs it as the reference workers and as the timing client. All talk to the
bench's own RabbitMQ vhost ($DEVICEVAULT_BENCH_BROKER_URL).

As a worker module (`celery -A celery_read_bench worker -Q <queue>
--pool=solo`) it serves `storage.read` as the original Python implementation
did, with `read_backup(storage_ref, config)` reading `commit.tree / path`
with GitPython, and returns the same result object as DeviceVault's worker.
$DEVICEVAULT_BENCH_GITPYTHON_REPO says how the repository is opened:
  kept-open  one `git.Repo` per repository for the worker's life (GitPython
             then keeps a `git cat-file --batch` process to read objects);
  per-call   a `git.Repo` opened and closed on every call (a stateless
             `read_backup`, which starts `git cat-file` every time).

As a script it is the client:
  python celery_read_bench.py client <calls> <kwargs json> <name>=<queue>...
sends `storage.read` with the kwargs to each queue, `.get(timeout=60)` on the
rpc:// backend, one call at a time: 20 warm-up calls each, then the timed
calls in blocks of 50, queue after queue in turn (so that a busy machine
slows all alike). Prints one JSON object: the latencies in milliseconds per
name and the SHA-256 and length of what each returned.
"""

import hashlib
import json
import os
import sys
import time
from datetime import datetime, timezone

from celery import Celery

BROKER = os.environ.get(
    "DEVICEVAULT_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"
)

app = Celery("celery_read_bench", broker=BROKER, backend="rpc://")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # One task at a time, as the original's solo workers took them.
    worker_prefetch_multiplier=1,
)

REPO_MODE = os.environ.get("DEVICEVAULT_BENCH_GITPYTHON_REPO", "kept-open")
_repos = {}


def read_backup(storage_ref, config):
    """The original's git backend: one blob of one commit."""
    import git  # GitPython; imported here so the client does not need it

    _branch, rest = storage_ref.split(":", 1)
    path, sha = rest.rsplit("@", 1)
    if REPO_MODE == "per-call":
        with git.Repo(config["repo_path"]) as repo:
            return (repo.commit(sha).tree / path).data_stream.read().decode("utf-8")
    repo = _repos.get(config["repo_path"])
    if repo is None:
        repo = _repos[config["repo_path"]] = git.Repo(config["repo_path"])
    return (repo.commit(sha).tree / path).data_stream.read().decode("utf-8")


@app.task(name="storage.read", bind=True)
def storage_read(self, **kwargs):
    started = time.perf_counter()
    content = read_backup(kwargs["storage_ref"], kwargs["storage_config"])
    return {
        "task_id": self.request.id,
        "task_identifier": kwargs.get("task_identifier", ""),
        "status": "success",
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "log": [],
        "storage_backend": kwargs["storage_backend"],
        "storage_ref": kwargs["storage_ref"],
        "operation": "read",
        "storage_duration_ms": int((time.perf_counter() - started) * 1000),
        "is_binary": False,
        "content": content,
    }


WARM_UP = 20
BLOCK = 50


def call(queue, kwargs):
    r = app.send_task("storage.read", kwargs=kwargs, queue=queue)
    return r.get(timeout=60)


def client(calls, kwargs, queues):
    latencies = {name: [] for name in queues}
    seen = {}
    for name, queue in queues.items():
        for _ in range(WARM_UP):
            result = call(queue, kwargs)
        content = result["content"].encode("utf-8")
        seen[name] = {
            "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content),
        }
    done = 0
    while done < calls:
        n = min(BLOCK, calls - done)
        for name, queue in queues.items():
            for _ in range(n):
                t = time.perf_counter()
                call(queue, kwargs)
                latencies[name].append((time.perf_counter() - t) * 1000.0)
        done += n
    print(json.dumps({"latencies_ms": latencies, "content": seen}), flush=True)


def main(argv):
    if len(argv) < 5 or argv[1] != "client":
        sys.exit(__doc__)
    queues = dict(a.split("=", 1) for a in argv[4:])
    client(int(argv[2]), json.loads(argv[3]), queues)


if __name__ == "__main__":
    main(sys.argv)
