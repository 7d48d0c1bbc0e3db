"""`phi-coord serve --manifest`: the server over a real 2-worker cluster it starts itself (the
manifest's `local = true` workers), driven with the official `openai` client: the same answers as
the in-process server, each worker in /health and /metrics, and a long prompt's progress streamed
before its first token."""
import json
import os
import tempfile
import time
import urllib.request

import pytest

from conftest import FIXTURES, MODEL_NAME, free_port, serve, stop

CHUNK_TOKENS = 32


def long_message(tag):
    """About 600 prompt tokens (some 19 chunks), starting differently per tag so no cache is reused."""
    return [{"role": "user", "content": tag + " " + " ".join(f"item{i}" for i in range(200))}]


@pytest.fixture(scope="module")
def cluster_server():
    ports = [free_port(), free_port()]
    with tempfile.TemporaryDirectory() as directory:
        manifest = os.path.join(directory, "cluster.toml")
        with open(manifest, "w") as file:
            file.write(f'''
model = "{FIXTURES / "tiny-phi4-golden" / "model"}"
tokenizer = "{FIXTURES / "phi4-mini-tokenizer"}"
context = 2048
[[workers]]
name = "w1"
address = "tcp://127.0.0.1:{ports[0]}"
layers = "0-15"
local = true
threads = 1
[[workers]]
name = "w2"
address = "tcp://127.0.0.1:{ports[1]}"
layers = "16-31"
local = true
threads = 1
''')
        server, log = serve(["--manifest", manifest, "--served-model-name", MODEL_NAME, "--chunk", str(CHUNK_TOKENS)],
                            os.environ.get("PHI_CLUSTER_SERVE_LOG", "/tmp/phi-cluster-serve-test.log"), timeout=300)
        yield server
        stop(server, log)  # stops the workers it started too
        # Its workers are gone with it.
        for port in ports:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=1)
                except urllib.error.URLError as error:
                    if isinstance(error.reason, ConnectionRefusedError):
                        break
                except Exception:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail(f"a worker still listens on port {port} after the server stopped")


@pytest.fixture(scope="module")
def cluster_client(cluster_server):
    import openai
    return openai.OpenAI(base_url=cluster_server.base_url + "/v1", api_key="unused", max_retries=0, timeout=300)


def test_health_names_each_worker_and_its_layers(cluster_server):
    health = cluster_server.health()
    assert [(stage["name"], stage["layers"], stage["state"]) for stage in health["stages"]] == [
        ("w1", "0-15", "ready"), ("w2", "16-31", "ready")]


def test_the_cluster_answers_as_the_in_process_engine(cluster_client, client):
    messages = [{"role": "user", "content": "Name three rivers in Europe."}]
    through_workers = cluster_client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=24,
                                                              temperature=0)
    in_process = client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=24, temperature=0)
    assert through_workers.choices[0].message.content == in_process.choices[0].message.content
    assert through_workers.usage.completion_tokens == in_process.usage.completion_tokens == 24


def test_a_long_prompt_streams_its_progress_before_the_first_token(cluster_client):
    progress, content_seen_at = [], None
    stream = cluster_client.chat.completions.create(model=MODEL_NAME, messages=long_message("first"), max_tokens=4, temperature=0,
                                                    stream=True, extra_body={"return_progress": True})
    for index, chunk in enumerate(stream):
        extra = chunk.model_extra or {}
        if "prompt_progress" in extra:
            assert content_seen_at is None, "progress after the first token"
            assert chunk.choices == []
            progress.append(extra["prompt_progress"])
        elif chunk.choices and chunk.choices[0].delta.content and content_seen_at is None:
            content_seen_at = index
    assert content_seen_at is not None
    assert len(progress) >= 5, progress
    total = progress[0]["total"]
    assert total > 10 * CHUNK_TOKENS
    assert all(report["total"] == total for report in progress)
    done = [report["done"] for report in progress]
    assert done == sorted(done) and done[0] > 0 and done[-1] < total
    assert all(report["done"] % CHUNK_TOKENS == 0 for report in progress)
    later = progress[-1]
    assert later["tokens_per_second"] > 0 and later["eta_seconds"] >= 0 and later["elapsed_seconds"] > 0


def test_every_stream_carries_progress_as_comments_clients_ignore(cluster_server):
    body = json.dumps({"model": MODEL_NAME, "messages": long_message("second"),
                       "max_tokens": 2, "stream": True}).encode()
    request = urllib.request.Request(cluster_server.base_url + "/v1/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        lines = response.read().decode().splitlines()
    comments = [line for line in lines if line.startswith(": prefill ")]
    first_content = next(i for i, line in enumerate(lines) if line.startswith("data: ") and '"content":"' in line
                         and '"content":""' not in line)
    assert len(comments) >= 5
    assert all(lines.index(comment) < first_content for comment in comments)
    assert "tokens/s" in comments[-1] and "s left" in comments[-1]
    # Without return_progress no chunk lacks choices (naive clients index choices[0]).
    assert not any(line.startswith("data: {") and '"choices":[]' in line for line in lines)


def test_metrics_time_each_worker(cluster_server, cluster_client):
    cluster_client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    _, text = cluster_server.get("/metrics")
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
               if line and not line.startswith("#")}
    for worker in ("w1", "w2"):
        assert samples[f'phi_stage_passes_total{{stage="{worker}"}}'] > 0
        assert samples[f'phi_stage_seconds_total{{stage="{worker}"}}'] > 0
        assert samples[f'phi_stage_up{{stage="{worker}",layers="{"0-15" if worker == "w1" else "16-31"}"}}'] == 1
