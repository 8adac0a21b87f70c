"""Downloads against a loopback server: verified size and checksum, atomic, bounded in
size and time, temporary files of killed downloads cleaned up, the mirror setting."""

import hashlib
import os
import subprocess
import sys
import time

import pytest

from backproplab.data import cifar10, discovery, fashion_mnist
from backproplab.data.download import DownloadError, fetch
from backproplab.data.errors import DataError
from fixtures import write_fashion


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_verifies_and_writes_atomically(server, tmp_path):
    root, url = server
    (root / "good.bin").write_bytes(b"hello")
    dest = tmp_path / "dl" / "good.bin"
    assert fetch(url + "good.bin", dest, md5(b"hello"), 5, show_progress=False) == dest
    assert dest.read_bytes() == b"hello" and os.listdir(dest.parent) == ["good.bin"]


def test_download_refuses_a_checksum_mismatch_and_keeps_nothing(server, tmp_path):
    root, url = server
    (root / "evil.bin").write_bytes(b"tamper")
    dest = tmp_path / "dl" / "evil.bin"
    with pytest.raises(DataError, match="checksum mismatch.*was not kept"):
        fetch(url + "evil.bin", dest, md5(b"hello!"), 6, show_progress=False)
    assert not dest.parent.exists()  # the folder it made for the file, empty, is gone


def test_download_of_a_missing_file_is_a_clear_error(server, tmp_path):
    _, url = server
    with pytest.raises(DownloadError, match="could not download .*404"):
        fetch(url + "nope.bin", tmp_path / "x", "0" * 32, 10, show_progress=False)


@pytest.mark.parametrize("path, message", [("endless", "sent more than the file's 1,000 bytes"),
                                           ("liar", "announces 1,000,000,000,000 bytes")])
def test_a_body_longer_than_the_file_is_refused(server, tmp_path, path, message):
    _, url = server
    with pytest.raises(DownloadError, match=message):
        fetch(url + path, tmp_path / "dl" / "f", "0" * 32, 1000, show_progress=False)
    assert not (tmp_path / "dl").exists()


def test_a_trickle_hits_the_overall_deadline(server, tmp_path):
    _, url = server
    start = time.monotonic()
    with pytest.raises(DownloadError, match="took longer than 2 s"):
        fetch(url + "slow", tmp_path / "dl" / "f", "0" * 32, 10**6, deadline=2, show_progress=False)
    assert time.monotonic() - start < 10
    assert not (tmp_path / "dl").exists()


def test_a_killed_download_leaves_a_temporary_the_next_one_removes(server, tmp_path):
    _, url = server
    dest = tmp_path / "dl" / "f"
    code = ("import sys; from pathlib import Path; from backproplab.data.download import fetch; "
            f"fetch({url + 'slow'!r}, Path({str(dest)!r}), '0' * 32, 10**6, show_progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    temp = dest.with_name(f".f.download-{proc.pid}")
    for _ in range(100):
        if temp.exists():
            break
        time.sleep(0.1)
    proc.kill()  # SIGKILL: its finally block never runs
    proc.wait()
    assert temp.exists()
    (url_root := server[0] / "f").write_bytes(b"data")
    fetch(url + "f", dest, md5(b"data"), 4, show_progress=False)
    assert sorted(os.listdir(dest.parent)) == ["f"] and url_root.exists()


def test_fashion_download_fills_the_cache_through_the_mirror(server, tmp_path, monkeypatch):
    root, url = server
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist.SPEC, "system_dirs", [str(tmp_path / "none")])
    monkeypatch.setenv("BACKPROPLAB_MIRROR", url)
    write_fashion(root)
    files = {name: (md5((root / name).read_bytes()), (root / name).stat().st_size) for name in fashion_mnist.FILES}
    monkeypatch.setattr(fashion_mnist, "FILES", files)
    data = fashion_mnist.load(download=True)
    assert data["train"][0].shape == (20, 28, 28)
    assert (tmp_path / "cache" / "backproplab" / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists()


def test_without_network_the_data_are_reported_missing_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKPROPLAB_DATA", raising=False)
    monkeypatch.setenv("BACKPROPLAB_MIRROR", "http://127.0.0.1:9/")  # the discard port: nothing listens
    with pytest.raises(discovery.DataNotFoundError, match=r"the download failed \(could not download") as err:
        cifar10.load(download=True)
    assert err.value.how_to_get() and err.value.looked_in


def test_download_command_fills_the_cache(server, tmp_path, monkeypatch, capsys):
    from backproplab.cli import main

    root, url = server
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("BACKPROPLAB_MIRROR", url)
    write_fashion(root)
    monkeypatch.setattr(fashion_mnist, "FILES", {n: (md5((root / n).read_bytes()), (root / n).stat().st_size)
                                                 for n in fashion_mnist.FILES})
    assert main(["download", "fashion"]) == 0
    assert "fashion: " in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "cache" / "backproplab" / "fashion-mnist")) == sorted(fashion_mnist.FILES)
    monkeypatch.setenv("BACKPROPLAB_MIRROR", "http://127.0.0.1:9/")
    assert main(["download", "cifar"]) == 2
    err = capsys.readouterr().err
    assert "could not download" in err and "BACKPROPLAB_MIRROR=URL" in err and "--data-dir FOLDER" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cache" / "backproplab" / "cifar-10-batches-py").exists()  # no empty folder left


def test_headers_that_never_end_hit_the_overall_deadline(server, tmp_path):
    _, url = server
    code = ("from pathlib import Path; from backproplab.data.download import fetch, DownloadError\n"
            f"try: fetch({url + 'slow-headers'!r}, Path({str(tmp_path / 'cache' / 'fashion' / 'f')!r}), '0' * 32, "
            "10**6, deadline=2, show_progress=False)\n"
            "except DownloadError as err: print(err)")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "took longer than 2 s" in result.stdout, result.stderr
    assert time.monotonic() - start < 10
    assert not (tmp_path / "cache").exists()  # the folders it created are gone again


def test_a_failed_download_keeps_the_folders_it_did_not_create(server, tmp_path):
    _, url = server
    (tmp_path / "mine").mkdir()
    with pytest.raises(DownloadError):
        fetch(url + "nope.bin", tmp_path / "mine" / "new" / "x", "0" * 32, 10, show_progress=False)
    assert (tmp_path / "mine").is_dir() and list((tmp_path / "mine").iterdir()) == []
