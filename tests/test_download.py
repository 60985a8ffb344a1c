"""fetch() and extract(): sources, checksums, safe and atomic extraction. Backend-independent (no TensorFlow)."""

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile

import pytest

from keras_transfer.datasets import archives
from keras_transfer.datasets import download

# Not `multibackend`: the code tested here is NumPy and file handling that never calls Keras, so a second run on
# KERAS_BACKEND=jax (make unit-jax) would repeat the TensorFlow run's work and could not fail differently.

URL = "https://example.invalid/data/archive.bin"  # never reached: every test provides a mirror or file:// URL


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _md5(data):
    return hashlib.md5(data).hexdigest()


def _mirror(tmp_path, name="archive.bin", data=b"the original bytes\n" * 1000):
    folder = tmp_path / "mirror"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder, data


def _leftovers(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


def _tar(path, members, mode="w:gz"):
    """Write a tar archive from `(TarInfo, bytes or None)` pairs."""
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    return tarfile.TarInfo(name), data


def _good_tar(tmp_path, mode="w:gz", name="good.tar.gz"):
    return _tar(tmp_path / name, [_file("data/a.txt", b"alpha"), _file("data/sub/b.txt", b"beta"),
                                  _file("data/c.txt", b"gamma")], mode)


# ---------------------------------------------------------------------------------------------------- fetch


def test_fetch_from_local_folder_mirror_then_from_cache(data_dir, tmp_path, monkeypatch):
    folder, data = _mirror(tmp_path)
    monkeypatch.setenv("KT_MIRROR", str(folder))
    path = download.fetch(URL, sha256=_sha256(data), subdir="demo", progress=False)
    assert path == data_dir / "downloads" / "demo" / "archive.bin"
    assert path.read_bytes() == data
    assert (path.parent / ("archive.bin" + download.SIDECAR_SUFFIX)).is_file()
    # The mirror disappears: the verified cache copy is used.
    (folder / "archive.bin").unlink()
    assert download.fetch(URL, sha256=_sha256(data), subdir="demo", progress=False) == path
    assert _leftovers(path.parent) == []


def test_fetch_from_file_url_mirror_with_md5_only(data_dir, tmp_path, monkeypatch):
    folder, data = _mirror(tmp_path, "datasplits.mat")
    monkeypatch.setenv("KT_MIRROR", folder.as_uri() + "/")
    path = download.fetch("https://example.invalid/17/datasplits.mat", md5=_md5(data), progress=False)
    assert path == data_dir / "downloads" / "datasplits.mat"
    assert path.read_bytes() == data


@pytest.fixture
def http_mirror(tmp_path):
    """A local HTTP server serving tmp_path/"served" (a workshop's mirror)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_fetch_from_an_http_mirror_and_past_its_404(data_dir, tmp_path, monkeypatch, http_mirror):
    folder, base_url = http_mirror
    for variable in ("http_proxy", "HTTP_PROXY"):  # talk to the local server directly
        monkeypatch.delenv(variable, raising=False)
    data = b"served over http\n" * 500
    (folder / "17flowers.tgz").write_bytes(data)
    monkeypatch.setenv("KT_MIRROR", base_url)
    path = download.fetch("https://example.invalid/17flowers.tgz", sha256=_sha256(data), progress=False)
    assert path.read_bytes() == data and download._read_sidecar(path)["source"] == base_url + "17flowers.tgz"
    # The mirror answers 404 for a file it lacks: the official address (here a file:// URL) is used instead.
    official, other = _mirror(tmp_path, "datasplits.mat", b"splits")
    path = download.fetch((official / "datasplits.mat").as_uri(), md5=_md5(other), progress=False)
    assert path.read_bytes() == other


def test_fetch_falls_back_from_a_mirror_without_the_file_to_the_official_address(data_dir, tmp_path, monkeypatch):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    official, data = _mirror(tmp_path)
    monkeypatch.setenv("KT_MIRROR", str(empty))
    path = download.fetch((official / "archive.bin").as_uri(), sha256=_sha256(data), progress=False)
    assert path.read_bytes() == data


def test_fetch_reports_every_source_when_none_works(data_dir, tmp_path):
    with pytest.raises(download.DownloadError) as error:
        download.fetch((tmp_path / "nowhere" / "archive.bin").as_uri(), sha256="0" * 64,
                       mirror=str(tmp_path / "no-mirror"), progress=False)
    message = str(error.value)
    assert "archive.bin" in message and "no-mirror" in message and "KT_MIRROR" in message


def test_checksum_mismatch_names_file_and_hashes_and_keeps_nothing(data_dir, tmp_path, monkeypatch):
    folder, data = _mirror(tmp_path)
    monkeypatch.setenv("KT_MIRROR", str(folder))
    wrong = "ab" * 32
    with pytest.raises(download.ChecksumError) as error:
        download.fetch(URL, sha256=wrong, progress=False)
    message = str(error.value)
    assert "archive.bin" in message and wrong in message and _sha256(data) in message
    downloads = data_dir / "downloads"
    assert sorted(path.name for path in downloads.iterdir()) == []


def test_a_cached_file_that_no_longer_verifies_is_fetched_again(data_dir, tmp_path, monkeypatch):
    folder, data = _mirror(tmp_path)
    monkeypatch.setenv("KT_MIRROR", str(folder))
    path = download.fetch(URL, sha256=_sha256(data), progress=False)
    path.write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="does not match its checksum"):
        again = download.fetch(URL, sha256=_sha256(data), progress=False)
    assert again.read_bytes() == data


def test_record_true_records_the_first_hash_and_verifies_later_copies(data_dir, tmp_path, monkeypatch):
    folder, data = _mirror(tmp_path, "BSR_bsds500.tgz")
    monkeypatch.setenv("KT_MIRROR", str(folder))
    url = "http://example.invalid/BSR/BSR_bsds500.tgz"
    path = download.fetch(url, record=True, progress=False)
    sidecar = download._read_sidecar(path)
    assert sidecar["recorded"] and sidecar["sha256"] == _sha256(data)
    # A later copy with other content is refused against the recorded hash.
    path.unlink()
    (folder / "BSR_bsds500.tgz").write_bytes(b"something else")
    with pytest.raises(download.ChecksumError, match=_sha256(data)):
        download.fetch(url, record=True, progress=False)
    assert not path.exists()
    # The original content is accepted again.
    (folder / "BSR_bsds500.tgz").write_bytes(data)
    assert download.fetch(url, record=True, progress=False).read_bytes() == data


def test_fetch_needs_a_checksum_or_record(data_dir):
    with pytest.raises(ValueError, match="record=True"):
        download.fetch(URL)


def test_an_interrupted_download_leaves_nothing_a_later_run_trusts(data_dir, tmp_path, monkeypatch):
    folder, data = _mirror(tmp_path)
    monkeypatch.setenv("KT_MIRROR", str(folder))

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 1000:
                raise ConnectionResetError("connection lost midway")
            return super().read(min(size, 500))

    real_open = download._open_source
    monkeypatch.setattr(download, "_open_source", lambda source: (Broken(data), len(data)))
    with pytest.raises(download.DownloadError, match="midway"):
        download.fetch(URL, sha256=_sha256(data), progress=False)
    downloads = data_dir / "downloads"
    assert list(downloads.iterdir()) == []
    monkeypatch.setattr(download, "_open_source", real_open)
    assert download.fetch(URL, sha256=_sha256(data), progress=False).read_bytes() == data


# ---------------------------------------------------------------------------------------------------- extract


@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_extract_recognises_the_archive_by_content_and_marks_completion(tmp_path, mode):
    # A plain tar named .tar.gz (as some copies of the Pet archive are) is recognised too.
    archive = _good_tar(tmp_path, mode)
    destination = archives.extract(archive, tmp_path / "out", progress=False)
    assert (destination / "data" / "sub" / "b.txt").read_bytes() == b"beta"
    assert archives.is_extracted(destination)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.tar.gz", "out"]


def test_a_finished_extraction_is_reused_and_a_new_fingerprint_redoes_it(tmp_path, monkeypatch):
    archive = _good_tar(tmp_path)
    destination = archives.extract(archive, tmp_path / "out", fingerprint="v1", progress=False)

    def fail(*args, **kwargs):
        raise AssertionError("extracted twice")

    monkeypatch.setattr(archives, "_extract_tar", fail)
    assert archives.extract(archive, destination, fingerprint="v1", progress=False) == destination
    monkeypatch.undo()
    (destination / "data" / "a.txt").write_bytes(b"stale")
    archives.extract(archive, destination, fingerprint="v2", progress=False)
    assert (destination / "data" / "a.txt").read_bytes() == b"alpha"


def test_extract_zip(tmp_path):
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("folder/one.txt", "1")
        package.writestr("folder/two.txt", "2")
    destination = archives.extract(archive, tmp_path / "out", progress=False)
    assert (destination / "folder" / "two.txt").read_text() == "2"


def _symlink(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def _hardlink(name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE
    info.linkname = target
    return info, None


def _device(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info, None


@pytest.mark.parametrize(
    "kind",
    ["dotdot", "absolute", "symlink_outside", "symlink_absolute", "write_through_symlink", "hardlink_outside",
     "device"],
)
def test_extract_refuses_members_that_escape_and_writes_nothing_outside(tmp_path, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "work" / "out"
    (tmp_path / "work").mkdir()
    members = {
        "dotdot": [_file("data/ok.txt"), _file("../../outside/evil.txt", b"pwned")],
        "absolute": [_file("data/ok.txt"), _file(str(outside / "evil.txt"), b"pwned")],
        "symlink_outside": [_file("data/ok.txt"), _symlink("data/link", "../../../outside")],
        "symlink_absolute": [_file("data/ok.txt"), _symlink("data/link", str(outside))],
        "write_through_symlink": [_symlink("link", "../../outside"), _file("link/evil.txt", b"pwned")],
        "hardlink_outside": [_file("data/ok.txt"), _hardlink("data/hard", "../../outside/secret")],
        "device": [_file("data/ok.txt"), _device("data/null")],
    }[kind]
    (outside / "secret").write_text("secret")
    archive = _tar(tmp_path / "evil.tar.gz", members)
    with pytest.raises(archives.UnsafeArchiveError) as error:
        archives.extract(archive, destination, progress=False)
    assert "evil.tar.gz" in str(error.value) and "refusing" in str(error.value)
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "secret"
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == []  # no destination, no partial folder


def test_extract_refuses_zip_members_that_escape(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("ok.txt", "1")
        package.writestr("../evil.txt", "pwned")
    with pytest.raises(archives.UnsafeArchiveError, match="evil.zip"):
        archives.extract(archive, tmp_path / "work" / "out", progress=False)
    assert not (tmp_path / "work" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("kind", ["tar.gz", "tar", "zip"])
def test_a_truncated_archive_raises_a_clear_error_naming_it(tmp_path, kind):
    if kind == "zip":
        whole = tmp_path / "whole.zip"
        with zipfile.ZipFile(whole, "w") as package:
            package.writestr("folder/big.bin", os.urandom(20000))
    else:
        members = [_file("data/big.bin", os.urandom(20000)), _file("data/more.bin", b"m" * 9000)]
        whole = _tar(tmp_path / "whole", members, "w:gz" if kind == "tar.gz" else "w")
    data = whole.read_bytes()
    archive = tmp_path / f"cut.{kind}"
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(archives.ArchiveError, match=f"cut.{kind}.*truncated"):
        archives.extract(archive, tmp_path / "work" / "out", progress=False)
    assert not (tmp_path / "work" / "out").exists()
    assert list((tmp_path / "work").iterdir()) == []


def test_an_interrupted_extraction_is_never_trusted(tmp_path, monkeypatch):
    archive = _good_tar(tmp_path)
    destination = tmp_path / "out"
    real_extract = tarfile.TarFile.extract
    calls = []

    def flaky(self, member, *args, **kwargs):
        calls.append(member.name)
        if len(calls) == 2:
            raise KeyboardInterrupt("interrupted midway")
        return real_extract(self, member, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extract", flaky)
    with pytest.raises(KeyboardInterrupt):
        archives.extract(archive, destination, progress=False)
    monkeypatch.undo()
    assert not destination.exists() and not archives.is_extracted(destination)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.tar.gz"]
    # A partial folder left by a process that died (here: a pid that cannot exist) is cleaned up, not used.
    stale = tmp_path / ".out.partial-999999999-abc"
    (stale / "data").mkdir(parents=True)
    archives.extract(archive, destination, progress=False)
    assert not stale.exists()
    assert sorted(p.name for p in (destination / "data").iterdir()) == ["a.txt", "c.txt", "sub"]


def test_extract_does_not_overwrite_a_foreign_folder(tmp_path):
    archive = _good_tar(tmp_path)
    destination = tmp_path / "mine"
    destination.mkdir()
    (destination / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="mine"):
        archives.extract(archive, destination, progress=False)
    assert (destination / "notes.txt").read_text() == "keep me"


# ---------------------------------------------------------------------------------------------------- first copies


def test_a_bad_first_copy_is_not_recorded_and_a_good_one_is(data_dir, tmp_path, monkeypatch):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "BSR_bsds500.tgz").write_bytes(b"<html>Service unavailable</html>")
    monkeypatch.setenv("KT_MIRROR", str(folder))
    url = "http://example.invalid/BSR/BSR_bsds500.tgz"
    check = archives.archive_holds("BSR/BSDS500/data/images")
    with pytest.raises(archives.ArchiveError, match="BSR_bsds500.tgz") as error:
        download.fetch(url, record=True, validate=check, progress=False)
    assert "no hash was recorded" in str(error.value) and "KT_MIRROR" in str(error.value)
    assert list((data_dir / "downloads").iterdir()) == []  # neither the file nor a sidecar
    # An archive without the expected folder is refused the same way.
    _tar(folder / "BSR_bsds500.tgz", [_file("BSR/README.txt", b"no images")])
    with pytest.raises(archives.ArchiveError, match="lacks BSR/BSDS500/data/images"):
        download.fetch(url, record=True, validate=check, progress=False)
    # The real layout is recorded, and a later different copy's error names the sidecar to delete.
    _tar(folder / "BSR_bsds500.tgz", [_file("BSR/BSDS500/data/images/train/1.jpg", b"jpeg")])
    path = download.fetch(url, record=True, validate=check, progress=False)
    assert download._read_sidecar(path)["recorded"]
    path.unlink()
    (folder / "BSR_bsds500.tgz").write_bytes(b"another copy")
    with pytest.raises(download.ChecksumError) as error:
        download.fetch(url, record=True, validate=check, progress=False)
    assert download.SIDECAR_SUFFIX in str(error.value) and "delete that file" in str(error.value)


# ---------------------------------------------------------------------------------------------------- resuming


@pytest.fixture
def flaky_http_server():
    """A local HTTP server that honours Range requests and can cut its first answer short."""
    state = {"data": b"", "cut_after": None, "ranges": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - the http.server API
            data = state["data"]
            start = 0
            header = self.headers.get("Range")
            state["ranges"].append(header)
            if header:
                start = int(header.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state["cut_after"] is not None:
                self.wfile.write(body[: state["cut_after"]])
                state["cut_after"] = None
                self.wfile.flush()
                self.connection.shutdown(2)  # the connection drops midway
                return
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_an_interrupted_http_download_resumes_and_is_verified_whole(data_dir, monkeypatch, flaky_http_server):
    for variable in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    state, base_url = flaky_http_server
    data = bytes(range(256)) * 4000  # about 1 MB
    state.update(data=data, cut_after=300_000)
    url = base_url + "images.tar.gz"
    with pytest.raises(download.DownloadError, match="next run resumes") as error:
        download.fetch(url, sha256=_sha256(data), mirror="", progress=False)
    partial = data_dir / "downloads" / ".images.tar.gz.partial"
    assert str(partial) in str(error.value) and partial.stat().st_size == 300_000
    assert not (data_dir / "downloads" / "images.tar.gz").exists()  # nothing a later run would trust
    path = download.fetch(url, sha256=_sha256(data), mirror="", progress=False)
    assert path.read_bytes() == data and not partial.exists()
    assert state["ranges"] == [None, "bytes=300000-"]


def test_a_resumed_download_that_does_not_verify_is_deleted(data_dir, monkeypatch, flaky_http_server):
    for variable in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    state, base_url = flaky_http_server
    data = b"good bytes " * 50_000
    state.update(data=data)
    partial = data_dir / "downloads" / ".images.tar.gz.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"X" * 1000)  # bytes that are not the file's first 1000
    with pytest.raises(download.ChecksumError):
        download.fetch(base_url + "images.tar.gz", sha256=_sha256(data), mirror="", progress=False)
    assert not partial.exists()
    assert download.fetch(base_url + "images.tar.gz", sha256=_sha256(data), mirror="", progress=False).read_bytes() == data
