"""Unpack `.tar`, `.tar.gz`/`.tgz` and `.zip` archives safely, and check what an archive holds.

`extract()` unpacks an archive (recognised by content, not by name) into a temporary folder beside the destination,
refusing any member that would write outside it (`../`, absolute paths, links pointing outside, device files), then
writes a completion marker and renames the folder into place. A destination without a matching marker is never
trusted, so an interrupted extraction is redone. `archive_holds(...)` is a `validate=` check for `download.fetch`.
"""

import json
import os
import pathlib
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib

import tqdm.auto

COMPLETE_MARKER = ".keras-transfer-complete"
"""Name of the file `extract()` writes last, inside a finished extraction."""


class ArchiveError(ValueError):
    """An archive is truncated, corrupt or not an archive at all."""


class UnsafeArchiveError(ArchiveError):
    """An archive member would write outside the destination folder (or is a device file)."""


def archive_holds(*members):
    """A `validate=` check for `fetch`: the file is a tar or zip archive that holds every path in `members`.

    A path matches a member or a folder of members (`"BSR/BSDS500/data/images"` matches
    `"BSR/BSDS500/data/images/train/1.jpg"`). Raises `ArchiveError` naming what is missing.
    """
    wanted = [member.strip("/") for member in members]

    def check(path):
        path = pathlib.Path(path)
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                names = archive.getnames()
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        else:
            raise ArchiveError(f"{path.name} is neither a tar nor a zip archive (an error page, or cut short?)")
        names = [name.strip("/") for name in names]
        missing = [
            member for member in wanted
            if not any(name == member or name.startswith(member + "/") for name in names)
        ]
        if missing:
            raise ArchiveError(f"{path.name} lacks {', '.join(missing)} ({len(names)} members)")

    return check


class _ProgressReader:
    """A read-only file wrapper that advances a tqdm bar by the bytes read."""

    def __init__(self, stream, bar):
        self._stream = stream
        self._bar = bar

    def read(self, size=-1):
        data = self._stream.read(size)
        self._bar.update(len(data))
        return data


def _inside(root, candidate):
    """True when the normalised `candidate` lies inside (or is) `root`; both absolute paths."""
    root = os.path.normpath(root)
    candidate = os.path.normpath(candidate)
    return os.path.commonpath([root, candidate]) == root


def _check_member_name(archive, name, root):
    pure = pathlib.PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or pathlib.PureWindowsPath(name).drive or name.startswith(("/", "\\")):
        raise UnsafeArchiveError(f"{archive}: refusing member {name!r}: absolute path.")
    if not _inside(root, os.path.join(root, *pure.parts)):
        raise UnsafeArchiveError(f"{archive}: refusing member {name!r}: it would write outside the destination.")
    return pure


def _check_tar_member(archive, member, root):
    """Refuse a tar member that could write outside `root` (our own check; `filter="data"` checks again)."""
    pure = _check_member_name(archive, member.name, root)
    regular = member.isfile() or member.isdir() or member.issym() or member.islnk()
    if member.ischr() or member.isblk() or member.isfifo() or not regular:
        raise UnsafeArchiveError(f"{archive}: refusing member {member.name!r}: device, fifo or special file.")
    if member.issym() or member.islnk():
        link = member.linkname.replace("\\", "/")
        if not link or os.path.isabs(link) or pathlib.PureWindowsPath(link).drive:
            raise UnsafeArchiveError(
                f"{archive}: refusing link {member.name!r} -> {member.linkname!r}: absolute link target."
            )
        # A symbolic link is resolved from its own folder, a hard link from the archive's root.
        base = os.path.join(root, *pure.parts[:-1]) if member.issym() else root
        if not _inside(root, os.path.join(base, link)):
            raise UnsafeArchiveError(
                f"{archive}: refusing link {member.name!r} -> {member.linkname!r}: it points outside the destination."
            )


def _extract_tar(archive, root, progress):
    count = 0
    with open(archive, "rb") as raw, tqdm.auto.tqdm(
        total=archive.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024,
        desc=f"extract {archive.name}", disable=not progress,
    ) as bar:
        with tarfile.open(fileobj=_ProgressReader(raw, bar), mode="r|*") as tar:
            for member in tar:
                _check_tar_member(archive, member, root)
                if hasattr(tarfile, "data_filter"):
                    try:
                        tar.extract(member, root, filter="data")
                    except tarfile.FilterError as error:
                        raise UnsafeArchiveError(f"{archive}: refusing member {member.name!r}: {error}") from error
                else:  # Python < 3.11.4 has no extraction filters: our own checks above are the only guard.
                    if member.issym() or member.islnk():
                        raise UnsafeArchiveError(f"{archive}: refusing link {member.name!r} (no tarfile filters).")
                    tar.extract(member, root, set_attrs=False)
                count += 1
    return count


def _extract_zip(archive, root, progress):
    with zipfile.ZipFile(archive) as package:
        members = package.infolist()
        for member in members:  # check everything before writing anything
            pure = _check_member_name(archive, member.filename, root)
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                target = package.read(member).decode("utf-8", "replace")
                base = os.path.join(root, *pure.parts[:-1])
                if os.path.isabs(target) or not _inside(root, os.path.join(base, target)):
                    raise UnsafeArchiveError(
                        f"{archive}: refusing link {member.filename!r} -> {target!r}: it points outside the "
                        "destination."
                    )
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no type recorded (plain file)
                raise UnsafeArchiveError(f"{archive}: refusing member {member.filename!r}: special file.")
        for member in tqdm.auto.tqdm(members, desc=f"extract {archive.name}", disable=not progress):
            package.extract(member, root)
    return len(members)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale_partials(destination):
    """Delete temporary folders left by extractions whose process has died."""
    for partial in destination.parent.glob(f".{destination.name}.partial-*"):
        try:
            pid = int(partial.name.rsplit(".partial-", 1)[1].split("-", 1)[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(partial, ignore_errors=True)


def _read_marker(destination):
    try:
        return json.loads((destination / COMPLETE_MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_extracted(destination, fingerprint=None):
    """True when `destination` holds a finished extraction (of the archive with this fingerprint, if given)."""
    marker = _read_marker(pathlib.Path(destination))
    if marker is None:
        return False
    return fingerprint is None or marker.get("fingerprint") == fingerprint


def extract(archive, destination, *, fingerprint=None, progress=True):
    """Safely unpack a `.tar`, `.tar.gz`/`.tgz` or `.zip` archive into `destination`; return `destination`.

    Members are checked before anything is written: absolute names, `..` escapes, symbolic or hard links
    pointing outside, and device or fifo files are refused with `UnsafeArchiveError`. On Python >= 3.11.4 the
    standard library's `filter="data"` checks every tar member again. Extraction goes to a temporary folder beside
    `destination`, a completion marker is written last and the folder is renamed into place, so a destination
    without its marker (an interrupted run) is never trusted. A finished destination whose marker carries the
    same fingerprint is returned at once.

    Args:
        archive: path-like. The archive; its kind is recognised from its content, not its name (the Oxford-IIIT
            Pet `.tar.gz` files are plain tar archives on some mirrors).
        destination: path-like. The folder to create. If it exists it must be an earlier extraction (it is
            replaced when its fingerprint differs); any other existing, non-empty folder is an error.
        fingerprint: str or None. Identifies the archive's content (e.g. its SHA-256); by default its name and size.
        progress: bool. Show a tqdm progress bar.

    Returns:
        `pathlib.Path` of `destination`.

    Raises:
        UnsafeArchiveError: a member would write outside `destination`; nothing is written outside.
        ArchiveError: the archive is truncated, corrupt or not a tar/zip archive.
        FileExistsError: `destination` is a non-empty folder that `extract()` did not create.
    """
    archive = pathlib.Path(archive)
    destination = pathlib.Path(destination).absolute()
    if not archive.is_file():
        raise FileNotFoundError(f"Archive not found: {archive}")
    fingerprint = fingerprint or f"{archive.name}:{archive.stat().st_size}"
    if is_extracted(destination, fingerprint):
        return destination
    if destination.exists() and _read_marker(destination) is None and any(destination.iterdir()):
        raise FileExistsError(
            f"{destination} exists and is not an extraction made by keras_transfer (no {COMPLETE_MARKER}); "
            "move it away or choose another destination."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(destination)
    partial = pathlib.Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.partial-{os.getpid()}-", dir=destination.parent)
    )
    try:
        try:
            if zipfile.is_zipfile(archive):
                count = _extract_zip(archive, str(partial), progress)
            else:
                count = _extract_tar(archive, str(partial), progress)
        except UnsafeArchiveError:
            raise
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
            raise ArchiveError(
                f"{archive} is truncated, corrupt or not a tar/zip archive ({type(error).__name__}: {error}). "
                "Delete it and fetch it again."
            ) from error
        if count == 0:
            raise ArchiveError(f"{archive} is empty or not a tar/zip archive.")
        marker = {"archive": archive.name, "fingerprint": fingerprint, "members": count, "time": time.time()}
        (partial / COMPLETE_MARKER).write_text(json.dumps(marker, indent=1))
        if destination.exists():  # an earlier extraction of another archive version, or an empty folder
            shutil.rmtree(destination)
        try:
            os.rename(partial, destination)
        except OSError:
            if is_extracted(destination, fingerprint):  # another process finished the same work first
                shutil.rmtree(partial, ignore_errors=True)
            else:
                raise
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return destination
