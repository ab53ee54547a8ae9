"""Reading over HTTP(S) URLs: a range-serving HTTP server on loopback started by the test."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import awkward as ak
import pytest

import afkit

pytestmark = pytest.mark.network


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single and multi ``Range`` support, as XRootD/HTTP storage serves them."""

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        header = self.headers.get("Range")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if not header:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        ranges = [(int(a), int(b)) for a, b in re.findall(r"(\d+)-(\d+)", header)]
        if len(ranges) == 1:
            start, stop = ranges[0]
            body = data[start : stop + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{stop}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        boundary = "afkitboundary"
        parts = []
        for start, stop in ranges:
            parts.append(
                f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Range: bytes {start}-{stop}/{len(data)}\r\n\r\n".encode()
                + data[start : stop + 1]
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        self.send_response(206)
        self.send_header("Content-Type", f"multipart/byteranges; boundary={boundary}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()


@contextmanager
def _serving(directory: Path) -> Iterator[str]:
    """A range-serving HTTP server for ``directory`` on loopback: its base URL."""

    def handler(*args, **kwargs):  # type: ignore[no-untyped-def]
        return _RangeHandler(*args, directory=str(directory), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def http_base(r24: Path) -> Iterator[str]:
    with _serving(r24.parent) as base:
        yield base


def test_read_over_http(http_base: str, r24: Path) -> None:
    url = f"{http_base}/{r24.name}"
    remote = afkit.read(url)
    local = afkit.read(r24)
    assert remote.file == url
    assert ak.array_equal(remote.Jets.pt, local.Jets.pt)
    assert ak.array_equal(remote.EventInfo.hardScatterVertex.z, local.EventInfo.hardScatterVertex.z)


def test_missing_http_file_names_the_url(http_base: str) -> None:
    url = f"{http_base}/nothing-here.root"
    with pytest.raises(afkit.AfkitError) as info:
        afkit.read(url)
    assert url in str(info.value)


def test_missing_http_support_names_the_extra(monkeypatch: pytest.MonkeyPatch, r24: Path) -> None:
    import uproot

    from afkit.io.filespec import clear_open_files

    def no_aiohttp(path: str, **_: object) -> None:
        raise ModuleNotFoundError("No module named 'aiohttp'", name="aiohttp")

    clear_open_files()
    monkeypatch.setattr(uproot, "open", no_aiohttp)
    with pytest.raises(afkit.MissingDependencyError, match=r"pip install 'afkit\[http\]'") as info:
        afkit.read("https://example.invalid/file.root")
    assert isinstance(info.value, ImportError)


@pytest.fixture(scope="module")
def http_rntuple_base(r24: Path) -> Iterator[str]:
    with _serving(r24.parent / "rntuple") as base:
        yield base


def test_read_rntuple_over_http(http_rntuple_base: str, r24: Path) -> None:
    name = "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
    remote = afkit.read(f"{http_rntuple_base}/{name}")
    local = afkit.read(r24.parent / "rntuple" / name)
    assert ak.array_equal(remote.Muon.pt, local.Muon.pt)
    assert ak.array_equal(remote.Muon.charge, local.Muon.charge)
    assert remote.bytes_read > 0
