"""The cluster stays up (issue 16): clients that leave, dead and returning workers, HTTP bodies
over the limit, and a short chaos run, each with the bound it promises. Real phi-worker processes
(SmolLM2-135M, 2 workers, no spare unless said), `phi-coord serve --manifest`, the openai client."""
import json
import time
import urllib.request

import pytest

from cluster_faults import PROMPTS, SMOLLM2, Cluster, chaos, raw_request, reference_answers

pytestmark = pytest.mark.skipif(not SMOLLM2.exists(), reason="SmolLM2 is not fetched (scripts/fetch-smollm2)")

# SmolLM2 has 30 layers.
TWO = ["0-14", "15-29"]
# A fault may add a handful of lines (the worker down, looked for, back, the ring restored).
MAX_LOG_LINES_PER_FAULT = 12
# A prompt whose answer runs far longer than a client that leaves waits (a short answer could end
# before the client leaves, and then nothing is cancelled).
LONG_ANSWER = "Write a long story about a dragon who learns to bake bread. Use at least 800 words."


@pytest.fixture(scope="module")
def references():
    return reference_answers()


@pytest.fixture
def cluster():
    cluster = Cluster(TWO)
    yield cluster
    cluster.close()


def lines_since(cluster, offset):
    with open(cluster.log_path, errors="replace") as file:
        file.seek(offset)
        return file.read().splitlines()


def test_a_streaming_client_that_leaves_costs_nothing(cluster, references):
    offset = cluster.log_bytes()
    for _ in range(4):
        raw_request(cluster.server.port, {"model": "smol", "messages": [{"role": "user", "content": LONG_ANSWER}],
                                          "max_tokens": 400, "temperature": 0, "stream": True}, 0.4)
    time.sleep(1.5)
    cpu, _ = cluster.coordinator_stat()
    time.sleep(2)
    idle = cluster.coordinator_stat()[0] - cpu
    assert idle < 0.2, f"the coordinator used {idle:.2f} s of CPU in 2 idle seconds after clients left"
    lines = lines_since(cluster, offset)
    assert len(lines) <= 4, "clients that leave are not failures:\n" + "\n".join(lines[:20])
    assert not any("is down" in line for line in lines)
    assert cluster.server.get("/health")[0] == 200
    started = time.monotonic()
    assert cluster.answer(PROMPTS[1]) == references[PROMPTS[1]]
    assert time.monotonic() - started < 10
    assert cluster.server.metric("phi_requests_cancelled_total") >= 4


def test_non_streamed_requests_stop_when_their_clients_leave(cluster):
    # More abandoned long requests than the server has sessions (8).
    for _ in range(10):
        raw_request(cluster.server.port, {"model": "smol", "messages": [{"role": "user", "content": LONG_ANSWER}],
                                          "max_tokens": 1500, "temperature": 0}, 0.3)
    time.sleep(1)
    started = time.monotonic()
    cluster.answer(PROMPTS[4], max_tokens=4)
    waited = time.monotonic() - started
    assert waited < 5, f"a 4-token request waited {waited:.1f} s behind requests whose clients had left"
    assert cluster.server.metric("phi_requests_cancelled_total") >= 10
    assert cluster.server.metric("phi_requests_active") == 0


@pytest.mark.parametrize("victim", [0, 1], ids=["first worker", "last worker"])
def test_a_dead_worker_is_reported_fast_and_taken_back_when_it_returns(cluster, references, victim):
    assert cluster.answer(PROMPTS[0]) == references[PROMPTS[0]]
    offset = cluster.log_bytes()
    worker = cluster.workers[victim]
    worker.kill()
    reported = cluster.wait_health(503, 2.5)
    assert reported <= 2.0, f"/health took {reported:.2f} s to report {worker.name} down"
    started = time.monotonic()
    with pytest.raises(Exception) as failure:
        cluster.answer(PROMPTS[1])
    assert time.monotonic() - started < 2.0
    assert getattr(failure.value, "status_code", None) == 503 and worker.name in str(failure.value)
    health = cluster.server.health()
    assert [stage["state"] for stage in health["stages"]][victim] == "unreachable"
    # Down for a while: the coordinator looks for it with backoff and logs no more than a few lines.
    time.sleep(4)
    worker.start()
    back = cluster.wait_health(200, 15)
    assert back < 10, f"the returned worker was taken back after {back:.1f} s"
    assert cluster.answer(PROMPTS[1]) == references[PROMPTS[1]]
    assert cluster.answer(PROMPTS[0]) == references[PROMPTS[0]]
    lines = lines_since(cluster, offset)
    assert len(lines) <= MAX_LOG_LINES_PER_FAULT, "\n".join(lines)
    _, metrics = cluster.server.get("/metrics")
    changes = [line for line in metrics.splitlines() if line.startswith("phi_stage_state_changes_total")
               and f'stage="{worker.name}"' in line]
    assert changes and float(changes[0].rsplit(" ", 1)[1]) >= 2  # down, then back


def test_a_stopped_worker_is_marked_down_and_taken_back_after_it_continues(cluster, references):
    worker = cluster.workers[0]
    worker.pause()
    try:
        cluster.wait_health(503, 5)
    finally:
        worker.resume()
    cluster.wait_health(200, 15)
    assert cluster.answer(PROMPTS[3]) == references[PROMPTS[3]]


def test_a_body_over_the_limit_gets_413_in_openai_shape():
    cluster = Cluster(TWO, extra_arguments=["--max-body-bytes", "4096"])
    try:
        body = json.dumps({"model": "smol", "messages": [{"role": "user", "content": "x" * 10000}]}).encode()
        status, answer = cluster.server.post_raw("/v1/chat/completions", body)
        assert status == 413
        assert "4096" in answer["error"]["message"] and answer["error"]["type"] == "invalid_request_error"
        # Without a Content-Length (chunked), the limit holds while reading.
        request = urllib.request.Request(cluster.server.base_url + "/v1/chat/completions", data=iter([body[:3000], body[3000:]]),
                                         method="POST", headers={"Content-Type": "application/json",
                                                                 "Transfer-Encoding": "chunked"})
        try:
            urllib.request.urlopen(request, timeout=30)
            raise AssertionError("a chunked body over the limit was accepted")
        except urllib.error.HTTPError as error:
            assert error.code == 413
        assert cluster.server.get("/health")[0] == 200
    finally:
        cluster.close()


def test_chaos(references):
    """A short chaos run (scripts/chaos runs a longer one): 3 workers and a spare, 16 clients."""
    cluster = Cluster(["0-9", "10-19", "20-29"], spares=1)
    try:
        figures, results = chaos(cluster, references, seconds=45)
    finally:
        cluster.close()
    assert not figures["crashed"], figures
    assert figures["mismatched"] == 0, results["mismatched"][:5]
    assert figures["unclear_errors"] == 0, results["unclear"][:5]
    assert figures["completed"] > 0 and figures["answers_after"], figures
    faults = sum(figures["faults"].values())
    assert figures["log_bytes"] < 4000 + 2000 * faults, figures
    assert figures["idle_cpu_seconds_over_3s"] < 0.3, figures
    assert figures["coordinator_rss_mib"] < 1024, figures
    assert figures["sessions"]["in_use"] == 0 and figures["sessions"]["waiting"] == 0, figures


def test_up_ends_without_error_lines():
    """The README's first command: workers stopping at the end of `up` are not failures."""
    import subprocess
    from conftest import ROOT, phi_coord_binary
    finished = subprocess.run([str(phi_coord_binary()), "up", "--manifest", str(ROOT / "cluster" / "tiny-2workers.toml"),
                               "--prompt-ids", "699,8833,104468", "--max-tokens", "4", "--temperature", "0", "--ignore-eos"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    output = finished.stdout + finished.stderr
    assert "error" not in output.lower() and "is down" not in output, output
