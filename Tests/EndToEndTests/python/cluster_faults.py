"""A real SmolLM2 cluster under faults: phi-worker processes this module starts, kills (-9), stops
(SIGSTOP/SIGCONT) and restarts on their own addresses, behind `phi-coord serve --manifest`, driven
with the official `openai` client and with raw sockets for clients that leave.

Used by test_cluster_faults.py (the bounds of each fault, and a short chaos run in the suite) and
by scripts/chaos (a longer chaos run that prints the figures for docs/RELIABILITY.md)."""
import json
import os
import pathlib
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from conftest import ROOT, free_port, phi_coord_binary, serve, stop

SMOLLM2 = ROOT / ".cache" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smol"
# Prompts whose greedy answers are real sentences (SmolLM2 is a trained model), so a wrong KV cache
# after a fault shows as different text.
PROMPTS = [
    "What is the capital of France?",
    "Name three colours of the rainbow.",
    "Why is the sky blue? Answer in one sentence.",
    "Write a haiku about the sea.",
    "What is 12 plus 30?",
    "Give me a synonym for happy.",
    "Which planet is the largest in our solar system?",
    "Tell me a fun fact about cats.",
]
ANSWER_TOKENS = 24


def phi_worker_binary() -> pathlib.Path:
    return phi_coord_binary().parent / "phi-worker"


def proc_stat(pid):
    """(cpu seconds, rss bytes) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


class Worker:
    """One phi-worker process on a fixed loopback address; restartable on the same address."""

    def __init__(self, name, layers, directory):
        self.name = name
        self.layers = layers
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_path = os.path.join(directory, f"{name}.log")
        self.process = None
        self.starts = 0

    def start(self):
        arguments = [str(phi_worker_binary()), "--model", str(SMOLLM2), "--quant", "f32", "--listen", self.address,
                     "--name", self.name, "--threads", "1", "--log-level", "warning"]
        if self.layers:
            arguments += ["--layers", self.layers]
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.starts += 1

    def wait_listening(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited with {self.process.returncode}; see {self.log_path}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"worker {self.name} did not listen within {timeout} s")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def crashed(self):
        """True when the process ended by itself (not by our kill)."""
        code = self.process.poll()
        return code is not None and code != -signal.SIGKILL


class Cluster:
    """Workers (and spares) started here, and `phi-coord serve` over a manifest naming them."""

    def __init__(self, splits, spares=0, extra_arguments=(), context=2048):
        self.directory = tempfile.mkdtemp(prefix="phi-faults-")
        self.workers = [Worker(f"w{index + 1}", layers, self.directory) for index, layers in enumerate(splits)]
        self.spares = [Worker(f"spare{index + 1}", None, self.directory) for index in range(spares)]
        for worker in self.workers + self.spares:
            worker.start()
        for worker in self.workers + self.spares:
            worker.wait_listening()
        manifest = os.path.join(self.directory, "cluster.toml")
        with open(manifest, "w") as file:
            file.write(f'model = "{SMOLLM2}"\nquant = "f32"\ncontext = {context}\n')
            for worker in self.workers:
                file.write(f'[[workers]]\nname = "{worker.name}"\naddress = "{worker.address}"\nlayers = "{worker.layers}"\n')
            for spare in self.spares:
                file.write(f'[[spares]]\nname = "{spare.name}"\naddress = "{spare.address}"\n')
        self.log_path = os.path.join(self.directory, "serve.log")
        self.server, self.log = serve(["--manifest", manifest, "--served-model-name", MODEL_NAME, "--chunk", "64",
                                       "--max-sessions", "8", *extra_arguments], self.log_path, timeout=120)
        import openai
        self.client = openai.OpenAI(base_url=self.server.base_url + "/v1", api_key="unused", max_retries=0, timeout=120)

    def close(self):
        stop(self.server, self.log)
        for worker in self.workers + self.spares:
            worker.kill()

    def log_bytes(self):
        return os.path.getsize(self.log_path)

    def log_text(self):
        with open(self.log_path, errors="replace") as file:
            return file.read()

    def wait_health(self, status, timeout):
        """Seconds until /health answers `status`; raises after `timeout`."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.server.get("/health")[0] == status:
                return time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"/health did not answer {status} within {timeout} s: {self.server.get('/health')}")

    def answer(self, prompt, max_tokens=ANSWER_TOKENS, stream=False):
        messages = [{"role": "user", "content": prompt}]
        if not stream:
            return self.client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=max_tokens,
                                                       temperature=0).choices[0].message.content
        return "".join(chunk.choices[0].delta.content or "" for chunk in self.client.chat.completions.create(
            model=MODEL_NAME, messages=messages, max_tokens=max_tokens, temperature=0, stream=True) if chunk.choices)

    def coordinator_stat(self):
        return proc_stat(self.server.process.pid)


def reference_answers(prompts=PROMPTS, max_tokens=ANSWER_TOKENS):
    """The greedy answers of the in-process engine (phi-coord serve --model, no workers)."""
    directory = tempfile.mkdtemp(prefix="phi-reference-")
    server, log = serve(["--model", str(SMOLLM2), "--quant", "f32", "--served-model-name", MODEL_NAME, "--context", "2048"],
                        os.path.join(directory, "serve.log"), timeout=120)
    try:
        import openai
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0, timeout=120)
        return {prompt: client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": prompt}],
                                                       max_tokens=max_tokens, temperature=0).choices[0].message.content
                for prompt in prompts}
    finally:
        stop(server, log)


def raw_request(port, body, read_seconds):
    """Sends a chat request on a raw socket, reads for `read_seconds`, then closes the connection
    (a client that leaves)."""
    payload = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                           + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        connection.settimeout(0.1)
        deadline = time.monotonic() + read_seconds
        while time.monotonic() < deadline:
            try:
                if not connection.recv(65536):
                    break
            except socket.timeout:
                pass


def chaos(cluster, references, seconds, clients=16, seed=1, report=print):
    """16 clients (streamed and not, half of them leaving at random) while a schedule kills, stops and
    restarts workers. Returns the figures; every request must complete with the reference answer or
    fail with a clear error."""
    rng = random.Random(seed)
    stop_at = time.monotonic() + seconds
    results = {"completed": 0, "matching": 0, "mismatched": [], "errors": {}, "left": 0, "unclear": []}
    lock = threading.Lock()

    def client_loop(index):
        local = random.Random(seed * 1000 + index)
        while time.monotonic() < stop_at:
            prompt = local.choice(PROMPTS)
            if index % 2 == 1 and local.random() < 0.5:
                # A client that leaves: a raw request closed after a random moment.
                body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": prompt}], "max_tokens": 200,
                        "temperature": 0, "stream": local.random() < 0.5}
                raw_request(cluster.server.port, body, local.uniform(0.05, 1.5))
                with lock:
                    results["left"] += 1
                continue
            try:
                text = cluster.answer(prompt, stream=local.random() < 0.5)
                with lock:
                    results["completed"] += 1
                    if text == references[prompt]:
                        results["matching"] += 1
                    else:
                        results["mismatched"].append((prompt, text))
            except Exception as error:  # noqa: BLE001 - every failure is classified below
                status = getattr(error, "status_code", None)
                message = str(error)
                with lock:
                    key = f"{status}"
                    results["errors"][key] = results["errors"].get(key, 0) + 1
                    # A clear error names the worker that is down (a 503, or the error event of a
                    # stream whose headers were already sent); a bare failure is not.
                    if "worker" not in message or "down" not in message:
                        results["unclear"].append(message[:300])
                time.sleep(0.2)

    faults = {"kill": 0, "stop": 0, "restart": 0}

    def schedule():
        while time.monotonic() < stop_at - 5:
            time.sleep(rng.uniform(2, 5))
            victim = rng.choice(cluster.workers)
            action = rng.choice(["kill", "stop"])
            if action == "kill":
                victim.kill()
                faults["kill"] += 1
                time.sleep(rng.uniform(0.5, 3))
                victim.start()
                faults["restart"] += 1
            else:
                victim.pause()
                faults["stop"] += 1
                time.sleep(rng.uniform(0.5, 4))
                victim.resume()
        # Everyone back for the end.
        for worker in cluster.workers:
            if worker.process.poll() is not None:
                worker.start()
                faults["restart"] += 1

    log_before = cluster.log_bytes()
    threads = [threading.Thread(target=client_loop, args=(index,)) for index in range(clients)]
    scheduler = threading.Thread(target=schedule)
    started = time.monotonic()
    for thread in threads + [scheduler]:
        thread.start()
    for thread in threads + [scheduler]:
        thread.join()
    # The cluster serves again once the workers are back.
    recover_start = time.monotonic()
    cluster.wait_health(200, 30)
    recovered_after = time.monotonic() - recover_start
    after = {prompt: cluster.answer(prompt) for prompt in PROMPTS[:3]}
    cpu, rss = cluster.coordinator_stat()
    time.sleep(3)
    idle_cpu = cluster.coordinator_stat()[0] - cpu
    figures = {
        "seconds": round(time.monotonic() - started, 1), "faults": faults, "completed": results["completed"],
        "matching": results["matching"], "mismatched": len(results["mismatched"]), "errors": results["errors"],
        "unclear_errors": len(results["unclear"]), "clients_that_left": results["left"],
        "log_bytes": cluster.log_bytes() - log_before, "coordinator_rss_mib": round(rss / 2**20, 1),
        "idle_cpu_seconds_over_3s": round(idle_cpu, 3), "recovered_after_seconds": round(recovered_after, 2),
        "crashed": [worker.name for worker in cluster.workers + cluster.spares if worker.crashed()]
        + (["phi-coord"] if cluster.server.process.poll() is not None else []),
        "answers_after": all(after[prompt] == references[prompt] for prompt in after),
        "sessions": cluster.server.health()["sessions"],
    }
    report(json.dumps(figures))
    return figures, results
