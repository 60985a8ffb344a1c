"""Fetch and verify the files the datasets are built from (archives: `archives.py`; image files: `image_files.py`).

Every remote file has a module-level address and pinned checksum in its dataset module (for example
`oxford_flowers17.IMAGES_URL` and `oxford_flowers17.IMAGES_SHA256`). `fetch()` looks for the file in this order:

1. the cache, `paths.cache_dir("downloads", subdir)` under `$KT_DATA_DIR`, if the file there still verifies;
2. the mirror named by `$KT_MIRROR` (or `mirror=`): a local folder or a base URL (`file://`, `http://`,
   `https://`) holding the original files under their original names (`17flowers.tgz`, `images.tar.gz`, ...);
3. the official address.

Whatever the source, the bytes are written to a temporary file beside the target, hashed while they stream, and
renamed into place only when the hash matches the pinned one. An HTTP download cut off midway keeps its bytes in
`.<file>.partial` (never taken for the file) and the next run resumes it with an HTTP range request; the whole file
is verified at the end as usual. A mismatch raises `ChecksumError` naming the file,
the expected and the actual hash, and deletes the bad file. Where no trustworthy checksum is published
(`record=True`), the hash of the first download is recorded in a sidecar file and every later copy must match it;
`validate=` (e.g. `archive_holds(...)`) checks that first copy before its hash is recorded, so an error page or a
truncated archive is deleted instead of becoming the reference.

This module does not import TensorFlow: fetching works on every backend.
"""

import contextlib
import hashlib
import json
import logging
import os
import pathlib
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

import tqdm.auto

from keras_transfer import paths

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".kt-hash.json"
"""Suffix of the sidecar file that records a downloaded file's hashes beside it."""

_CHUNK_SIZE = 1 << 20
_TIMEOUT_SECONDS = 60
_USER_AGENT = "keras-transfer (https://github.com/keras-team/keras; dataset loader)"


class ChecksumError(ValueError):
    """A downloaded, mirrored or cached file does not match its pinned (or recorded) checksum."""


class DownloadError(OSError):
    """No source (cache, mirror, official address) could provide a file."""


# --------------------------------------------------------------------------------------------------------------
# Hashing and the sidecar record.


def file_hashes(path, algorithms=("sha256", "md5")):
    """Hex digests of a file, read once: `{"sha256": ..., "md5": ...}`."""
    digests = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_SIZE), b""):
            for digest in digests.values():
                digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def _sidecar_path(target):
    return target.with_name(target.name + SIDECAR_SUFFIX)


def _read_sidecar(target):
    sidecar = _sidecar_path(target)
    try:
        return json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None


def atomic_write_text(path, text):
    """Write `text` to `path` through a temporary file and a rename."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_sidecar(target, hashes, *, source, recorded):
    info = target.stat()
    record = {
        "file": target.name,
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "sha256": hashes["sha256"],
        "md5": hashes["md5"],
        "recorded": bool(recorded),
        "source": source,
    }
    atomic_write_text(_sidecar_path(target), json.dumps(record, indent=1))


def _expected_hashes(sha256, md5, record, target):
    """What a file must hash to: the pinned values, or on `record=True` the hash recorded the first time."""
    expected = {}
    if sha256:
        expected["sha256"] = sha256.lower()
    if md5:
        expected["md5"] = md5.lower()
    if not expected and record:
        previous = _read_sidecar(target)
        if previous and previous.get("recorded") and previous.get("sha256"):
            expected["sha256"] = previous["sha256"]
    return expected


def _mismatch(hashes, expected):
    """The first (algorithm, expected, actual) that differs, or None."""
    for name, value in expected.items():
        if hashes[name] != value:
            return name, value, hashes[name]
    return None


def _checksum_error(filename, source, mismatch, *, kept, recorded_in=None):
    name, expected, actual = mismatch
    where = f" from {source}" if source else ""
    fate = "It was kept." if kept else "The bad file was deleted."
    recorded = (
        f" The expected hash was recorded from the first copy ever fetched, in {recorded_in}: if that first copy "
        "was the bad one, delete that file and run again." if recorded_in else ""
    )
    return ChecksumError(
        f"Checksum mismatch for {filename}{where}: expected {name} {expected}, got {actual}. {fate}{recorded} "
        "If it came from a mirror (KT_MIRROR), replace the mirror's copy with the original file."
    )


def _trusted_by_sidecar(target, expected):
    """True when the sidecar says this exact file (same size and mtime) was verified with these hashes."""
    record = _read_sidecar(target)
    if not record or not expected:
        return False
    info = target.stat()
    if record.get("size") != info.st_size or record.get("mtime_ns") != info.st_mtime_ns:
        return False
    return all(record.get(name) == value for name, value in expected.items())


# --------------------------------------------------------------------------------------------------------------
# Sources.


def _mirror_candidate(mirror, filename):
    """Where a mirror would hold `filename`: a URL string or a local `pathlib.Path`."""
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + urllib.parse.quote(filename)
    return pathlib.Path(mirror).expanduser() / filename


def _describe(source):
    return str(source)


def _open_source(source, offset=0):
    """Open a local path or URL for reading; returns `(stream, total_bytes_or_None)`.

    With `offset > 0` (resuming an HTTP download) the request asks for the bytes from `offset` on; the stream's
    `status` tells whether the server sent only those (206) or the whole file again (200).
    """
    if isinstance(source, pathlib.Path):
        stream = open(source, "rb")  # noqa: SIM115 (closed by the caller)
        return stream, os.fstat(stream.fileno()).st_size
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(source, headers=headers)
    stream = urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS)  # noqa: S310 (http(s) and file only)
    length = stream.headers.get("Content-Length") if getattr(stream, "headers", None) else None
    return stream, int(length) if length and length.isdigit() else None


def _resumable(source):
    return isinstance(source, str) and urllib.parse.urlparse(source).scheme in ("http", "https")


def _partial_path(directory, filename):
    """Where an interrupted HTTP download of `filename` waits to be resumed (never trusted as the file itself)."""
    return pathlib.Path(directory) / f".{filename}.partial"


def _stream_to_temporary(stream, total, directory, filename, progress, *, partial=None, resume=False):
    """Copy `stream` into a temporary file in `directory`, hashing on the way; returns `(path, hashes)`.

    With `partial` (an HTTP source) the bytes go to that fixed path and stay there if the copy breaks, so the next
    run resumes; with `resume` they are appended to what it already holds (hashed first). Otherwise a fresh
    temporary file is used and removed on any failure.
    """
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5()}
    if partial is not None:
        temporary = pathlib.Path(partial)
        if resume:
            with open(temporary, "rb") as existing:
                for chunk in iter(lambda: existing.read(_CHUNK_SIZE), b""):
                    for digest in digests.values():
                        digest.update(chunk)
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if resume else os.O_TRUNC), 0o644)
    else:
        handle, temporary = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        temporary = pathlib.Path(temporary)
    done = temporary.stat().st_size if resume else 0
    try:
        with os.fdopen(handle, "wb") as output, tqdm.auto.tqdm(
            total=None if total is None else done + total, initial=done, unit="B", unit_scale=True,
            unit_divisor=1024, desc=filename, disable=not progress,
        ) as bar:
            received = 0
            for chunk in iter(lambda: stream.read(_CHUNK_SIZE), b""):
                output.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
                bar.update(len(chunk))
                received += len(chunk)
            output.flush()
            os.fsync(output.fileno())
            if total is not None and received < total:  # the connection closed before the announced length
                raise ConnectionError(f"received {received:,} of {total:,} bytes")
    except BaseException:
        if partial is None:
            temporary.unlink(missing_ok=True)
        raise
    return temporary, {name: digest.hexdigest() for name, digest in digests.items()}


def fetch(
    url,
    *,
    sha256=None,
    md5=None,
    record=False,
    filename=None,
    subdir=None,
    mirror=None,
    progress=True,
    validate=None,
):
    """Return a local, verified copy of a remote file, downloading it only when needed.

    Sources, in order: the cache (`paths.cache_dir("downloads", subdir)`), the mirror (`mirror=` or
    `$KT_MIRROR`: a local folder or a `file://`/`http(s)://` base holding the file under its original name),
    then `url`. A mirror that lacks the file is skipped; a mirror whose copy fails the checksum is an error.

    Args:
        url: str. The official address.
        sha256: str or None. The pinned SHA-256 hex digest.
        md5: str or None. The pinned MD5 hex digest (used where the publisher gives only MD5).
        record: bool. Where no trustworthy checksum is published: record the SHA-256 of the first download in a
            sidecar file (`<file>.kt-hash.json`) and verify every later copy against it. Ignored when `sha256`
            or `md5` is given.
        filename: str or None. The file's name, by default the last part of `url`. Also the name looked up in
            the mirror.
        subdir: str or None. A folder under `paths.cache_dir("downloads")` (keeps generic names such as
            `images.tar.gz` of different datasets apart).
        mirror: str or None. Overrides `$KT_MIRROR`; an empty string disables the mirror.
        progress: bool. Show a tqdm progress bar while copying.
        validate: callable or None. `validate(path)` checks a copy that no pinned or recorded hash vouches for
            (the first copy under `record=True`) before its hash is recorded, e.g. `archive_holds("BSR/...")`; it
            raises `ValueError` (or `ArchiveError`) when the file is not what it should be (an HTML error page, a
            truncated archive). Such a copy is deleted and nothing is recorded, so the next run fetches again.

    Returns:
        `pathlib.Path` of the verified file.

    Raises:
        ChecksumError: the file from the mirror or the official address does not match the checksum (the bad
            copy is deleted).
        DownloadError: no source could provide the file.
        ValueError: neither a checksum nor `record=True` was given.

    Example:

    ```python
    archive = fetch(
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz",
        sha256="fe38a60f8b4a95e657551247d3e7d799a3fafcdbc595be504b12839967823d70",
    )
    ```
    """
    if not (sha256 or md5 or record):
        raise ValueError(
            "fetch() needs a pinned checksum (sha256= or md5=) or record=True where none is published. "
            f"Received: url={url!r}, sha256={sha256!r}, md5={md5!r}, record={record!r}"
        )
    filename = filename or pathlib.PurePosixPath(urllib.parse.urlparse(url).path).name
    if not filename or filename in (".", "..") or "/" in filename or "\\" in filename:
        raise ValueError(f"fetch() needs a plain file name. Received: filename={filename!r}")
    directory = paths.cache_dir("downloads", subdir) if subdir else paths.cache_dir("downloads")
    target = directory / filename
    expected = _expected_hashes(sha256, md5, record, target)

    if target.is_file():
        if _trusted_by_sidecar(target, expected):
            return target
        hashes = file_hashes(target)
        problem = _mismatch(hashes, expected)
        if problem is None and not expected and validate is not None:
            try:
                validate(target)
            except (ValueError, OSError, tarfile.TarError, zipfile.BadZipFile) as error:
                problem = ("validity", "a valid archive", f"{type(error).__name__}: {error}")
        if problem is None:
            _write_sidecar(target, hashes, source=str(target), recorded=not (sha256 or md5))
            return target
        warnings.warn(
            f"The cached {target} does not match its checksum (expected {problem[0]} {problem[1]}, got "
            f"{problem[2]}); fetching it again.",
            stacklevel=2,
        )
        target.unlink()

    mirror = os.environ.get(paths.MIRROR_VARIABLE, "") if mirror is None else mirror
    sources = ([_mirror_candidate(mirror, filename)] if mirror else []) + [url]
    failures = []
    for source in sources:
        partial = _partial_path(directory, filename) if _resumable(source) else None
        offset = partial.stat().st_size if partial is not None and partial.is_file() else 0
        try:
            stream, total = _open_source(source, offset) if offset else _open_source(source)
        except (OSError, ValueError) as error:  # urllib.error.URLError is an OSError
            failures.append(f"{_describe(source)}: {error}")
            logger.info("%s is not available from %s (%s)", filename, source, error)
            continue
        resume = bool(offset) and getattr(stream, "status", None) == 206
        if offset and resume and progress:
            logger.info("Resuming %s at byte %d", filename, offset)
        try:
            with contextlib.closing(stream):
                temporary, hashes = _stream_to_temporary(
                    stream, total, directory, filename, progress, partial=partial, resume=resume
                )
        except OSError as error:
            kept = (
                f"the {partial.stat().st_size:,} bytes received are kept in {partial} and the next run resumes "
                "from there" if partial is not None and partial.is_file() else "nothing was kept"
            )
            raise DownloadError(
                f"Fetching {filename} from {_describe(source)} failed midway ({type(error).__name__}: {error}); "
                f"{kept}. Run again to retry."
            ) from error
        problem = _mismatch(hashes, expected)
        if problem is not None:
            temporary.unlink(missing_ok=True)
            raise _checksum_error(filename, _describe(source), problem, kept=False,
                                  recorded_in=_sidecar_path(target) if record and not (sha256 or md5) else None)
        if not expected and validate is not None:
            try:
                validate(temporary)
            except (ValueError, OSError, tarfile.TarError, zipfile.BadZipFile) as error:
                temporary.unlink(missing_ok=True)
                raise ArchiveError(
                    f"The first copy of {filename} from {_describe(source)} is not a valid {filename} "
                    f"({type(error).__name__}: {error}). It was deleted and no hash was recorded; run again to "
                    f"fetch it anew, or put a good copy in a folder and set {paths.MIRROR_VARIABLE}=/that/folder."
                ) from error
        os.replace(temporary, target)
        _write_sidecar(target, hashes, source=_describe(source), recorded=not (sha256 or md5))
        if not expected:
            logger.warning(
                "No checksum is published for %s: recorded sha256 %s in %s; later copies must match it.",
                filename,
                hashes["sha256"],
                _sidecar_path(target),
            )
        return target

    tried = "\n  ".join(failures)
    raise DownloadError(
        f"Could not fetch {filename}. Tried:\n  {tried}\n"
        f"Offline? Put the original {filename} in a folder and set {paths.MIRROR_VARIABLE}=/that/folder, or pass "
        "path= to the loader with the already extracted data."
    )


# The archive and image functions lived here before they got modules of their own; loaders written against this
# module keep working.
from keras_transfer.datasets.archives import COMPLETE_MARKER  # noqa: E402
from keras_transfer.datasets.archives import ArchiveError  # noqa: E402
from keras_transfer.datasets.archives import UnsafeArchiveError  # noqa: E402
from keras_transfer.datasets.archives import archive_holds  # noqa: E402
from keras_transfer.datasets.archives import extract  # noqa: E402
from keras_transfer.datasets.archives import is_extracted  # noqa: E402
from keras_transfer.datasets.image_files import check_image_size  # noqa: E402
from keras_transfer.datasets.image_files import read_image  # noqa: E402
from keras_transfer.datasets.image_files import verify_images  # noqa: E402
