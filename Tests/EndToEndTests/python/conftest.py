"""Starts `phi-coord serve` on the tiny random model with Phi-4-mini's tokenizer, on a free port,
for the whole test session; the tests drive it with the official `openai` client."""
import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "Tests" / "Fixtures"
MODEL_NAME = "tiny-phi4"
CONTEXT_TOKENS = 1024


def phi_coord_binary() -> pathlib.Path:
    """$PHI_BIN_DIR/phi-coord (scripts/test sets it), else the release build, else the debug one."""
    if os.environ.get("PHI_BIN_DIR"):
        return pathlib.Path(os.environ["PHI_BIN_DIR"]) / "phi-coord"
    for config in ("release", "debug"):
        path = subprocess.run(["swift", "build", "-c", config, "--show-bin-path"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        candidate = pathlib.Path(path) / "phi-coord"
        if candidate.exists():
            return candidate
    raise RuntimeError("phi-coord is not built: run `swift build -c release --product phi-coord`")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def get(self, path: str):
        """(status, body text) of a GET."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_raw(self, path: str, body: bytes):
        """(status, parsed JSON body) of a POST with a raw body."""
        request = urllib.request.Request(self.base_url + path, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def metric(self, name: str) -> float:
        """The value of an unlabelled (or the first labelled) sample of `name` in /metrics."""
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise KeyError(name)

    def health(self) -> dict:
        return json.loads(self.get("/health")[1])


def serve(arguments, log_path, timeout=180):
    """Starts `phi-coord serve ARGUMENTS --port P` on a free port and waits until /health answers 200;
    returns the Server and its log file. `stop(server, log)` ends both."""
    port = free_port()
    log = open(log_path, "w")
    process = subprocess.Popen([str(phi_coord_binary()), "serve", *arguments, "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, port)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"phi-coord serve exited with {process.returncode}; see {log.name}")
        try:
            if server.get("/health")[0] == 200:
                return server, log
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"phi-coord serve did not become healthy within {timeout} s; see {log.name}")
        time.sleep(0.2)


def stop(server, log):
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
    log.close()


@pytest.fixture(scope="session")
def server():
    server, log = serve(
        ["--model", str(FIXTURES / "tiny-phi4-golden" / "model"), "--tokenizer", str(FIXTURES / "phi4-mini-tokenizer"),
         "--served-model-name", MODEL_NAME, "--context", str(CONTEXT_TOKENS), "--max-sessions", "4", "--threads", "2"],
        os.environ.get("PHI_SERVE_LOG", "/tmp/phi-serve-test.log"))
    yield server
    stop(server, log)


@pytest.fixture(scope="session")
def client(server):
    import openai
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0, timeout=120)
