"""Measures Berth's submit->succeeded time against a raw hardened `docker run` (see e2e.sh)."""
import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request

SCRIPT = "echo '{\"perf\": 0.99}' > /data/perf.json"
DOCKERFILE = "FROM busybox:latest\nCMD " + json.dumps(["sh", "-c", SCRIPT]) + "\n"

# The same controls HardeningProfile.ForRun applies (defaults: 512 MiB, 1 cpu, 256 pids, 64m /tmp).
HARDENED = [
    "--user", "65534:65534", "--network", "none", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges:true", "--read-only",
    "--tmpfs", "/tmp:rw,nosuid,nodev,noexec,size=64m", "--ipc", "none", "--pids-limit", "256",
    "--memory", "512m", "--memory-swap", "512m", "--memory-swappiness", "0", "--cpus", "1",
    "--ulimit", "fsize=268435456:268435456", "--ulimit", "nofile=1024:1024", "--ulimit", "core=0:0",
    "--init", "--log-opt", "max-size=8m", "--log-opt", "max-file=1",
]


def berth_job(url, cache=True):
    start = time.perf_counter()
    job = json.load(urllib.request.urlopen(submission(url, cache)))
    while True:
        job = json.load(urllib.request.urlopen(url + "/api/v1/jobs/" + job["id"]))
        if job["status"] in ("succeeded", "failed", "canceled"):
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    assert job["status"] == "succeeded" and job["performance"] == 0.99, job
    assert job["cacheHit"] == cache, job
    return elapsed


def berth_burst(url, n, cache=True):
    """Submits n jobs at once and polls the list (one request per round) until all succeeded."""
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        ids = set(pool.map(lambda _: submit(url, cache), range(n)))
    while True:
        page = json.load(urllib.request.urlopen(f"{url}/api/v1/jobs?limit=100"))
        done = [j for j in page["items"] if j["id"] in ids and j["status"] in ("succeeded", "failed", "canceled")]
        if len(done) == n:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    assert all(j["status"] == "succeeded" for j in done), done
    return elapsed


def submission(url, cache):
    """A plain-text submission (an identical resubmission reuses the image), or JSON with "cache": false (it builds)."""
    if cache:
        return urllib.request.Request(url + "/api/v1/jobs", data=DOCKERFILE.encode(), headers={"Content-Type": "text/plain"})
    body = json.dumps({"dockerfile": DOCKERFILE, "cache": False}).encode()
    return urllib.request.Request(url + "/api/v1/jobs", data=body, headers={"Content-Type": "application/json"})


def submit(url, cache=True):
    return json.load(urllib.request.urlopen(submission(url, cache)))["id"]


def raw_run(scratch):
    start = time.perf_counter()
    data = tempfile.mkdtemp(dir=scratch)
    os.chown(data, 65534, 65534)
    os.chmod(data, 0o700)
    subprocess.run(["docker", "run", "--rm", *HARDENED, "-v", data + ":/data", "busybox:latest", "sh", "-c", SCRIPT],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(data, "perf.json")) as f:
        assert json.load(f)["perf"] == 0.99
    return time.perf_counter() - start


def burst(fn, n, concurrency):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda _: fn(), range(n)))
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--bursts", type=int, default=3)
    p.add_argument("--scratch", required=True)
    a = p.parse_args()

    berth_job(a.url, cache=False)  # warm: the first build fills the engine's build cache and leaves an image to reuse
    raw_run(a.scratch)

    # Interleaved, so that drift in the machine's load hits every variant alike.
    single = {"reused": [], "built": [], "raw": []}
    for _ in range(a.runs):
        single["reused"].append(berth_job(a.url))
        single["built"].append(berth_job(a.url, cache=False))
        single["raw"].append(raw_run(a.scratch))
    # A Berth burst: 20 submissions at once; Berth's own workers (= concurrency) run them.
    bursts = {"reused": [], "built": [], "raw": []}
    for _ in range(a.bursts):
        bursts["reused"].append(berth_burst(a.url, 20))
        bursts["built"].append(berth_burst(a.url, 20, cache=False))
        bursts["raw"].append(burst(lambda: raw_run(a.scratch), 20, a.concurrency))

    for title, figures in ((f"single job, median of {a.runs}", single), (f"20-job burst at concurrency {a.concurrency}, median of {a.bursts}", bursts)):
        raw = statistics.median(figures["raw"])
        reused = statistics.median(figures["reused"])
        built = statistics.median(figures["built"])
        print(f"{title}: docker run {raw:.3f} s; berth resubmitted (image reused) {reused:.3f} s, ratio {reused / raw:.2f}; "
              f"berth first-time (\"cache\": false, engine build cache warm) {built:.3f} s, ratio {built / raw:.2f}")


if __name__ == "__main__":
    main()
