"""A secured cluster: SASL/SCRAM over TLS, with certificates made by the test itself.

A second local broker gets a SASL_SSL listener, a self-signed certificate and one SCRAM
user. The worker and the command line work with the right credentials, are refused with
wrong ones, and the password shows up in neither the logs nor /metrics.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from agents.broker import LocalBroker, SecureListener
from agents.settings import Settings
from tests.integration.conftest import Pipeline, free_port, fresh_settings, security_env

pytestmark = pytest.mark.integration

USER, PASSWORD = "newsdesk", "scram-pass-7f3a91"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (broker keystore PEM, client CA file)."""
    openssl = shutil.which("openssl")
    assert openssl, "the security test needs the openssl command to make its certificate"
    key, cert = folder / "broker-key.pem", folder / "broker-cert.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    keystore = folder / "broker-keystore.pem"
    keystore.write_bytes(key.read_bytes() + cert.read_bytes())
    return keystore, cert


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalBroker, Settings]]:
    folder = tmp_path_factory.mktemp("secured")
    keystore, ca = make_certificate(folder)
    port = free_port()
    local = LocalBroker(
        port=port,
        state_dir=folder / "broker",
        secure=SecureListener(port=port + 2, keystore_pem=keystore, users=((USER, PASSWORD),)),
    )
    local.start(timeout_s=120)
    settings = fresh_settings(  # topics made over the secured listener, as the right user
        f"127.0.0.1:{port + 2}",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username=USER,
        sasl_password=SecretStr(PASSWORD),
        ssl_cafile=ca,
    )
    yield local, settings
    local.stop()


def cli(settings: Settings, *arguments: str, stdin: bytes = b"", **env: str) -> tuple[int, str]:
    """Run ``stancewire ARGS`` with the settings' credentials; (exit code, stdout + stderr)."""
    variables = (
        os.environ
        | {
            "STANCEWIRE_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "STANCEWIRE_INPUT_TOPIC": settings.input_topic,
            "STANCEWIRE_OUTPUT_TOPIC": settings.output_topic,
            "STANCEWIRE_CONNECT_TIMEOUT_S": "10",
        }
        | security_env(settings)
        | env
    )
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", *arguments],
        input=stdin,
        capture_output=True,
        env=variables,
        timeout=180,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def refused_login(output: str) -> bool:
    """The error names the refused login, or the broker hanging up on the failed one.

    kafka-python logs SaslAuthenticationFailedError for the refusal; on a busy machine its
    short handshake deadline can expire first, and then all it sees is the broker closing
    the connection of a client that failed to authenticate.
    """
    return "SaslAuthenticationFailed" in output or "socket disconnected" in output


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a TCP socket listens on at ``port``, read from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def article(number: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"sec-{number}",
            "title": f"Finance ministers meet in Lisbon, round {number}",
            "body": "Finance ministers met in Lisbon on Tuesday to discuss the budget rules.\n"
            "Officials said the talks would continue in Vienna next month.",
            "source": "wire.example",
        }
    )


def test_worker_and_cli_work_with_the_right_credentials_and_keep_them_secret(
    secured: tuple[LocalBroker, Settings], tmp_path: Path
) -> None:
    local, settings = secured
    pipeline = Pipeline(broker=local, workdir=tmp_path, settings=settings)
    pipeline.extra_env |= {"STANCEWIRE_STANCE_MODEL": "off"}
    try:
        pipeline.start_worker()
        code, output = cli(settings, "produce", "-", stdin=b"\n".join(article(n) for n in range(5)))
        assert code == 0, output
        assert "sent 5 article(s)" in output
        code, output = cli(settings, "consume", "--from-beginning", "--json", "--limit", "5")
        assert code == 0, output
        events = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert sorted(event["id"] for event in events) == [f"sec-{n}" for n in range(5)]
        assert any(e["name"] == "Lisbon" for e in events[0]["entities"])
        with urllib.request.urlopen(
            f"http://127.0.0.1:{pipeline.web_ports[0]}/metrics", timeout=10
        ) as page:
            metrics = page.read().decode()
        assert "stancewire_events_out_total" in metrics
        assert listening_addresses(pipeline.web_ports[0]) == {"127.0.0.1"}
        assert PASSWORD not in metrics
        assert PASSWORD not in output
    finally:
        pipeline.stop_workers()
    logs = pipeline.worker_logs()
    assert "[^Worker]: Ready" in logs and PASSWORD not in logs
    print(f"\nsecured: 5 in, {len(events)} enriched over SASL_SSL (SCRAM-SHA-256)")


def test_wrong_credentials_or_no_tls_are_refused(
    secured: tuple[LocalBroker, Settings], tmp_path: Path
) -> None:
    _, settings = secured
    wrong = settings.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    started = time.monotonic()
    code, output = cli(wrong, "produce", "-", stdin=article(99))
    assert code != 0
    assert "cannot reach Kafka" in output and refused_login(output), output
    assert "not-the-password" not in output

    worker = subprocess.run(
        [sys.executable, "-m", "agents.cli", "worker"],
        env=os.environ
        | {"STANCEWIRE_BOOTSTRAP_SERVERS": settings.bootstrap_servers}
        | security_env(wrong)
        | {"STANCEWIRE_DATA_DIR": str(tmp_path / "data"), "STANCEWIRE_WEB_PORT": str(free_port())}
        | {"STANCEWIRE_CONNECT_TIMEOUT_S": "10"},
        capture_output=True,
        timeout=180,
        check=False,
    )
    log = (worker.stdout + worker.stderr).decode(errors="replace")
    assert worker.returncode != 0, log
    assert "cannot reach Kafka" in log and refused_login(log), log
    assert "not-the-password" not in log

    # A client that does not speak TLS to the TLS port, and one that does not trust the
    # broker's certificate, get nothing either.
    plain = settings.model_copy(update={"security_protocol": "SASL_PLAINTEXT", "ssl_cafile": None})
    code, output = cli(plain, "consume", "--from-beginning", "--limit", "1")
    assert code != 0 and "cannot reach Kafka" in output, output
    untrusted = settings.model_copy(update={"ssl_cafile": None})
    code, output = cli(untrusted, "consume", "--from-beginning", "--limit", "1")
    assert code != 0 and "CERTIFICATE_VERIFY_FAILED" in output, output
    print(f"\nrefused: wrong password, no TLS, untrusted CA ({time.monotonic() - started:.0f} s)")
