"""prime_build: a PEP 517 build backend for py/, standard library only.

Why not setuptools: pip builds in an isolated environment and would fetch
setuptools from an index first, so `pip install ./py` would fail offline.
This backend needs nothing: the package is one module and one console
script, and a wheel of that is a zip with four metadata files (the binary
distribution format, PEP 427 and the packaging guide's "Recording
installed projects"). What it builds is fixed here, not read from
pyproject.toml's [project] table: keep the two in step (the test installs
the wheel and runs the command).
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

NAME = "prime_worker"  # the distribution "prime-worker", normalised
MODULE = "prime_worker.py"
SUMMARY = "A prime_server pipeline worker in Python (docs/PROTOCOL.md)"
SCRIPTS = {"prime_worker": "prime_worker:main"}
REQUIRES = ["pyzmq"]
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _version():
    with open(os.path.join(HERE, MODULE), encoding="utf-8") as source:
        match = re.search(r'^VERSION = "([^"]+)"$', source.read(), re.M)
    if not match:
        raise RuntimeError("no VERSION = \"...\" line in " + MODULE)
    return match.group(1)


def _metadata(version):
    lines = ["Metadata-Version: 2.1", "Name: prime-worker", "Version: " + version,
             "Summary: " + SUMMARY, "Requires-Python: >=3.7"]
    lines += ["Requires-Dist: " + requirement for requirement in REQUIRES]
    return "\n".join(lines) + "\n"


def _dist_info_files(version):
    scripts = "".join("%s = %s\n" % item for item in sorted(SCRIPTS.items()))
    return {
        "METADATA": _metadata(version),
        "WHEEL": "Wheel-Version: 1.0\nGenerator: prime_build\nRoot-Is-Purelib: true\n"
                 "Tag: py3-none-any\n",
        "entry_points.txt": "[console_scripts]\n" + scripts,
    }


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (path, digest, len(data))


def _write_wheel(directory, version, files):
    """files: {path in the wheel: bytes}. Adds RECORD; returns the name."""
    dist_info = "%s-%s.dist-info" % (NAME, version)
    for name, text in _dist_info_files(version).items():
        files[dist_info + "/" + name] = text.encode()
    record = "".join(_record_line(path, data) for path, data in files.items())
    record += dist_info + "/RECORD,,\n"
    files[dist_info + "/RECORD"] = record.encode()
    wheel = "%s-%s-py3-none-any.whl" % (NAME, version)
    with zipfile.ZipFile(os.path.join(directory, wheel), "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    version = _version()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    for name, text in _dist_info_files(version).items():
        with open(os.path.join(metadata_directory, dist_info, name), "w", encoding="utf-8") as out:
            out.write(text)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(HERE, MODULE), "rb") as source:
        return _write_wheel(wheel_directory, _version(), {MODULE: source.read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # pip install -e ./py: a .pth file that puts py/ itself on sys.path
    return _write_wheel(wheel_directory, _version(),
                        {NAME + ".pth": (HERE + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    version = _version()
    base = "prime_worker-%s" % version
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as archive:
        for path in ("pyproject.toml", MODULE, "build_backend/prime_build.py"):
            archive.add(os.path.join(HERE, path), arcname=base + "/" + path)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _metadata(version).encode()
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return name
