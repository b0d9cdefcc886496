"""Videos over http(s) from a server the test starts on 127.0.0.1: Python's
http.server with byte ranges (what S3, GCS and nginx answer), so that the
test needs nothing outside the standard library. The wheel's FFmpeg has the
http, https and tls protocols (GnuTLS): these tests run against it in
`make test-wheel`, where the system's FFmpeg is hidden."""
import http.server
import os
import re
import shutil
import ssl
import tarfile
import threading
from contextlib import contextmanager

import numpy as np
import pytest

import clipkit
from conftest import FIXTURES, run_tool


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """GET with `Range: bytes=a-b` or `bytes=a-` answered 206 (416 past the end); records each request."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        start, end = 0, size - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.server.requests.append((self.path, self.headers.get("Range")))
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(start)
            try:
                self.wfile.write(f.read(end - start + 1))
            except (BrokenPipeError, ConnectionResetError):
                pass


@contextmanager
def serving(root, certificate=None):
    handler = lambda *a, **k: RangeHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    scheme = "http"
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def folder(tmp_path):
    names = ["h264_bframes.mp4", "vp9.webm", "mpeg4.avi"]
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / name)
    with tarfile.open(tmp_path / "shard.tar", "w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            tar.add(FIXTURES / name, arcname=f"videos/{name}")
    return tmp_path, names


def every_frame(decoder):
    return np.asarray(decoder.get_batch(list(range(len(decoder)))))


def test_videos_and_tar_members_over_http_decode_as_their_files(folder):
    root, names = folder
    with serving(root) as (server, url):
        for name in names:
            plain = every_frame(clipkit.VideoDecoder(root / name, dimension_order="NHWC"))
            for remote in (f"{url}/{name}", f"{url}/shard.tar#videos/{name}"):
                assert np.array_equal(every_frame(clipkit.VideoDecoder(remote, dimension_order="NHWC")), plain), remote
        assert server.requests and all(r is not None for _, r in server.requests), "every read is a ranged request"
        with pytest.raises(clipkit.ClipKitError, match="404"):
            clipkit.VideoDecoder(f"{url}/missing.mp4")


def test_https_verifies_the_certificate(folder, tmp_path, monkeypatch):
    root, names = folder
    certificate, key = tmp_path / "server.pem", tmp_path / "server.key"
    run_tool(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
              "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate],
             outputs=[certificate, key])
    monkeypatch.setenv("CLIPKIT_HTTP_RETRY_SECONDS", "0")
    with serving(root, (str(certificate), str(key))) as (server, url):
        with pytest.raises(clipkit.ClipKitError, match="certificate"):
            clipkit.VideoDecoder(f"{url}/{names[0]}")
        monkeypatch.setenv("CLIPKIT_CA_FILE", str(certificate))
        decoder = clipkit.VideoDecoder(f"{url}/{names[0]}", dimension_order="NHWC")
        assert np.array_equal(every_frame(decoder), every_frame(clipkit.VideoDecoder(root / names[0], dimension_order="NHWC")))
