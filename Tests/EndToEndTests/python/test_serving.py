"""Serving behaviour: concurrency, disconnects, errors, the other endpoints."""
import threading
import time

import json
import socket
import openai
import pytest

from conftest import CONTEXT_TOKENS, MODEL_NAME

MESSAGES = [{"role": "user", "content": "Count to fifty."}]


def test_concurrent_requests_overlap_in_time(client):
    """Two streams at once: each gets tokens while the other is still running."""
    arrivals = {}

    def stream(name, seed):
        times = []
        for chunk in client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=40, seed=seed,
                                                    stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.monotonic())
        arrivals[name] = times

    threads = [threading.Thread(target=stream, args=(name, seed)) for name, seed in (("a", 1), ("b", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    a, b = arrivals["a"], arrivals["b"]
    assert len(a) > 10 and len(b) > 10
    # Interleaved: tokens of b arrive between a's first and last, and the other way round.
    assert any(a[0] < t < a[-1] for t in b)
    assert any(b[0] < t < b[-1] for t in a)


def test_client_disconnect_stops_the_generation_and_frees_its_session(client, server):
    cancelled_before = server.metric("phi_requests_cancelled_total")
    body = json.dumps({"model": MODEL_NAME, "messages": MESSAGES, "max_tokens": 900, "stream": True, "seed": 3}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as connection:
        connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                           + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        received = b""
        while received.count(b"data: ") < 4:
            piece = connection.recv(4096)
            assert piece, "the server closed the stream early"
            received += piece
        assert received.startswith(b"HTTP/1.1 200")
        # Leaving the block closes the connection mid-stream.
    deadline = time.monotonic() + 20
    while server.metric("phi_requests_cancelled_total") == cancelled_before or server.health()["sessions"]["in_use"]:
        assert time.monotonic() < deadline, "the generation went on after its client left"
        time.sleep(0.1)
    response = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=5, seed=4)
    assert response.choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize("body, param", [
    ({"model": MODEL_NAME, "messages": MESSAGES, "temperature": "hot"}, "temperature"),
    ({"model": MODEL_NAME, "messages": "hello"}, "messages"),
    ({"model": MODEL_NAME, "messages": MESSAGES, "max_tokens": 2.5}, "max_tokens"),
    ({"model": MODEL_NAME, "messages": MESSAGES, "n": 2}, "n"),
    ({"model": MODEL_NAME, "messages": MESSAGES, "stream": "yes"}, "stream"),
    ({"model": MODEL_NAME, "messages": MESSAGES, "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
    ({"model": MODEL_NAME, "messages": [{"role": "wizard", "content": "hi"}]}, "messages"),
])
def test_bad_fields_are_400_naming_the_field(server, body, param):
    status, error = server.post_raw("/v1/chat/completions", json.dumps(body).encode())
    assert status == 400
    assert error["error"]["param"] == param
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"]


def test_bad_json_is_400(server):
    status, error = server.post_raw("/v1/chat/completions", b'{"model": "x", "messages": [')
    assert status == 400
    assert "JSON" in error["error"]["message"]


def test_prompt_longer_than_the_context_is_400_with_both_numbers(client):
    long_text = "lighthouse " * (CONTEXT_TOKENS + 50)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": long_text}], max_tokens=4)
    error = caught.value.body
    assert error["code"] == "context_length_exceeded"
    assert str(CONTEXT_TOKENS) in error["message"]
    prompt_tokens = int(error["message"].split(" tokens")[0].split()[-1])
    assert prompt_tokens > CONTEXT_TOKENS


def test_unknown_model_and_route_are_404(client, server):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-17", messages=MESSAGES, max_tokens=2)
    assert caught.value.body["code"] == "model_not_found"
    status, body = server.get("/v1/nothing-here")
    assert status == 404 and "error" in json.loads(body)


def test_the_server_keeps_serving_after_errors(client, server):
    def refused():
        try:
            return server.metric('phi_requests_total{endpoint="chat",status="400"}')
        except KeyError:
            return 0
    before = refused()
    for _ in range(3):
        server.post_raw("/v1/chat/completions", b"not json")
        server.post_raw("/v1/completions", b'{"prompt": 12}')
    assert refused() == before + 3
    response = client.chat.completions.create(model=MODEL_NAME, messages=MESSAGES, max_tokens=3, seed=1)
    assert response.choices[0].message.content is not None


def test_completions_with_text_and_token_ids(client):
    text = client.completions.create(model=MODEL_NAME, prompt="Once upon a time", max_tokens=6, seed=2)
    assert text.object == "text_completion" and isinstance(text.choices[0].text, str)
    assert text.usage.completion_tokens <= 6
    ids = client.completions.create(model=MODEL_NAME, prompt=[1, 2, 3, 4], max_tokens=6, seed=2, temperature=0)
    assert ids.usage.prompt_tokens == 4
    streamed = "".join(chunk.choices[0].text for chunk in client.completions.create(
        model=MODEL_NAME, prompt=[1, 2, 3, 4], max_tokens=6, seed=2, temperature=0, stream=True) if chunk.choices)
    assert streamed == ids.choices[0].text


def test_stop_strings_end_the_text(client):
    free = client.completions.create(model=MODEL_NAME, prompt=[5, 6, 7], max_tokens=12, temperature=0)
    text = free.choices[0].text
    if len(text) < 4:
        pytest.skip("the greedy continuation is too short to cut")
    stop = text[2:4]
    cut = client.completions.create(model=MODEL_NAME, prompt=[5, 6, 7], max_tokens=12, temperature=0, stop=[stop])
    assert cut.choices[0].text == text[:text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_health_and_metrics(server):
    status, _ = server.get("/health")
    assert status == 200
    health = server.health()
    assert health["status"] == "ok"
    assert [stage["state"] for stage in health["stages"]] == ["ready"]
    status, text = server.get("/metrics")
    assert status == 200
    for name in ("phi_generated_tokens_total", "phi_prompt_tokens_total", "phi_time_to_first_token_seconds_bucket",
                 "phi_request_duration_seconds_bucket", "phi_requests_queued", "phi_requests_active", "phi_stage_up"):
        assert name in text
